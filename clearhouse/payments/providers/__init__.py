"""Which provider serves which method, and the provider objects themselves.

    provider_for("sandbox")      -> the provider adapter named so
    provider_for_method("card")  -> the adapter that takes cards here (settings.PAYMENT_CARD_PROVIDER)

Tests swap adapters with `providers_override`.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.utils.module_loading import import_string

from clearhouse.payments.domain import Method, PaymentMethodUnavailable
from clearhouse.payments.providers.base import PaymentProvider

ADAPTERS = {
    "sandbox": "clearhouse.payments.providers.sandbox.SandboxProvider",
}
OFFLINE = ("bank_transfer", "cash")

_overrides: dict[str, PaymentProvider] = {}
_cache: dict[str, PaymentProvider] = {}


def provider_for(name: str) -> PaymentProvider:
    if name in _overrides:
        return _overrides[name]
    if name not in _cache:
        if name in OFFLINE:
            from clearhouse.payments.providers.offline import OfflineProvider

            _cache[name] = OfflineProvider(name)
        elif name in ADAPTERS:
            _cache[name] = import_string(ADAPTERS[name])()
        else:
            raise PaymentMethodUnavailable(f"No payment provider named {name!r}.", param="provider")
    return _cache[name]


def provider_name_for_method(method: str) -> str:
    if method == Method.CARD:
        return getattr(settings, "PAYMENT_CARD_PROVIDER", "sandbox")
    if method in OFFLINE:
        return method
    raise PaymentMethodUnavailable(f"Unknown payment method {method!r}.", param="method")


def methods_available() -> list[str]:
    """The methods offered at checkout, in the order the pay page shows them."""
    return [m for m in getattr(settings, "PAYMENT_METHODS", [Method.CARD, Method.BANK_TRANSFER, Method.CASH])]


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
