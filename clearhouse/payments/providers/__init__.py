"""Which provider serves which method, and the provider objects themselves.

    provider_for("stripe", merchant_id=7)   -> the adapter for that merchant's Stripe account,
                                               else the platform's, else PaymentMethodUnavailable
    provider_name_for_method("card", merchant_id=7) -> "stripe" when configured, else "sandbox"
    methods_available(merchant_id=7)        -> the methods to offer at checkout

Accounts (credentials) live in `ProviderAccount`, entered in the admin. The
sandbox card provider also works without an account, from settings (the demo
and tests), unless CLEARHOUSE_SANDBOX_ENABLED is off. Lookups are cached per
process for PROVIDER_CACHE_S seconds; saving an account clears this
process's cache. Tests swap adapters with `providers_override`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from django.conf import settings
from django.utils.module_loading import import_string

from clearhouse.payments.domain import Method, PaymentMethodUnavailable
from clearhouse.payments.providers.base import PaymentProvider

ADAPTERS = {
    "sandbox": "clearhouse.payments.providers.sandbox.SandboxProvider",
    "stripe": "clearhouse.payments.providers.stripe.StripeProvider",
    "paypal": "clearhouse.payments.providers.paypal.PayPalProvider",
    "alipay": "clearhouse.payments.providers.alipay.AlipayProvider",
    "wechatpay": "clearhouse.payments.providers.wechatpay.WeChatPayProvider",
}
OFFLINE = ("bank_transfer", "cash")
# The methods a customer chooses, in the order the pay page shows them, and the providers that can serve
# each (first configured wins).
METHOD_PROVIDERS: dict[str, tuple[str, ...]] = {
    Method.CARD: ("stripe", "sandbox"),
    Method.ALIPAY: ("alipay",),
    Method.WECHAT_PAY: ("wechatpay",),
    Method.PAYPAL: ("paypal",),
    Method.BANK_TRANSFER: ("bank_transfer",),
    Method.CASH: ("cash",),
}
PROVIDER_CACHE_S = 30

_overrides: dict[str, PaymentProvider] = {}
_cache: dict[tuple[str, int | None], tuple[float, PaymentProvider | None]] = {}


def _sandbox_from_settings() -> PaymentProvider | None:
    if not getattr(settings, "CLEARHOUSE_SANDBOX_ENABLED", True):
        return None
    return import_string(ADAPTERS["sandbox"])()


def _account_adapter(account) -> PaymentProvider:
    adapter_class = import_string(ADAPTERS[account.provider])
    adapter = adapter_class.from_account(account)
    adapter.account_id = account.pk
    return adapter


def _lookup(name: str, merchant_id: int | None) -> PaymentProvider | None:
    from clearhouse.payments.models import ProviderAccount

    accounts = {a.merchant_id: a for a in ProviderAccount.objects.filter(provider=name, enabled=True).filter(
        merchant_id__in=[m for m in (merchant_id,) if m is not None]) | ProviderAccount.objects.filter(
        provider=name, enabled=True, merchant__isnull=True)}
    account = accounts.get(merchant_id) or accounts.get(None)
    if account is not None:
        return _account_adapter(account)
    if name == "sandbox":
        return _sandbox_from_settings()
    return None


def provider_or_none(name: str, *, merchant_id: int | None = None) -> PaymentProvider | None:
    if name in _overrides:
        return _overrides[name]
    if name in OFFLINE:
        from clearhouse.payments.providers.offline import OfflineProvider

        return OfflineProvider(name)
    if name not in ADAPTERS:
        return None
    key = (name, merchant_id)
    cached = _cache.get(key)
    if cached is None or cached[0] < time.monotonic():
        cached = (time.monotonic() + PROVIDER_CACHE_S, _lookup(name, merchant_id))
        _cache[key] = cached
    return cached[1]


def provider_for(name: str, *, merchant_id: int | None = None) -> PaymentProvider:
    adapter = provider_or_none(name, merchant_id=merchant_id)
    if adapter is None:
        raise PaymentMethodUnavailable(f"No payment provider {name!r} is configured and enabled.", param="provider")
    return adapter


def provider_for_account(name: str, account_id: int | None) -> PaymentProvider:
    """The adapter of one account (webhooks name their account in the URL), or the platform's."""
    if account_id is None or name in _overrides:
        return provider_for(name)
    from clearhouse.payments.models import ProviderAccount

    account = ProviderAccount.objects.filter(pk=account_id, provider=name).first()
    if account is None:
        raise PaymentMethodUnavailable(f"No {name} account {account_id}.", param="account")
    return _account_adapter(account)


def provider_name_for_method(method: str, *, merchant_id: int | None = None) -> str:
    for name in METHOD_PROVIDERS.get(method, ()):
        if name in OFFLINE or provider_or_none(name, merchant_id=merchant_id) is not None:
            return name
    raise PaymentMethodUnavailable(f"The payment method {method!r} is not available.", param="method")


def methods_available(*, merchant_id: int | None = None) -> list[str]:
    """The methods offered at checkout: offline ones as configured, online ones while a provider serves them."""
    offered = getattr(settings, "PAYMENT_METHODS", None) or list(METHOD_PROVIDERS)
    available = []
    for method in METHOD_PROVIDERS:
        if method not in offered:
            continue
        try:
            provider_name_for_method(method, merchant_id=merchant_id)
        except PaymentMethodUnavailable:
            continue
        available.append(method)
    return available


def reset_cache() -> None:
    _cache.clear()


@contextmanager
def providers_override(**adapters: PaymentProvider):
    """Use these adapter objects instead of the configured ones (tests)."""
    saved = dict(_overrides)
    _overrides.update(adapters)
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)
