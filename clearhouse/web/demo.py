"""Demo data: merchants, one user per role, API keys, a few weeks of postings, and the demo shop.

Run by `clearhouse demo`; running it again changes nothing. The shop (catalog,
stock, member levels, customers, coupons) lives in `demo_catalog`.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearhouse.accounts.models import BusinessType, Merchant, User
from clearhouse.accounts.roles import MFA_ROLES, Role
from clearhouse.accounts.services import merchant_create, user_create
from clearhouse.core.money import Money
from clearhouse.ledger import posting_recipes as recipes
from clearhouse.settlement.demo import seed_demo_settlement
from clearhouse.web.demo_catalog import seed_demo_catalog, seed_demo_coupons, seed_demo_customers

DEMO_PASSWORD_SUFFIX = "-demo-2026"  # noqa: S105  demo logins are printed on purpose
DEMO_USERS = [
    ("admin", Role.ADMIN, None),
    ("manager", Role.FINANCE_MANAGER, None),
    ("clerk", Role.FINANCE_CLERK, None),
    ("auditor", Role.AUDITOR, None),
    ("teahouse", Role.MERCHANT_ADMIN, "teahouse"),
    ("noodlebar", Role.MERCHANT_STAFF, "noodlebar"),
    ("silkroad", Role.MERCHANT_STAFF, "silkroad"),
    ("customer", Role.CUSTOMER, None),
    ("mei", Role.CUSTOMER, None),
    ("jun", Role.CUSTOMER, None),
]
DEMO_MERCHANTS = [
    ("teahouse", "West Lake Tea House", "food"),
    ("noodlebar", "Lanzhou Noodle Bar", "food"),
    ("silkroad", "Silk Road Apparel", "apparel"),
]


DEMO_DEVICE = "demo authenticator"


def demo_password(username: str) -> str:
    return f"{username}{DEMO_PASSWORD_SUFFIX}"


def demo_totp_key(username: str) -> str | None:
    """Base32 key of a demo user's authenticator (to add to an app), if it has one."""
    device = TOTPDevice.objects.filter(user__username=username, name=DEMO_DEVICE).first()
    return base64.b32encode(device.bin_key).decode().rstrip("=") if device else None


def demo_totp_code(username: str) -> str | None:
    """The demo user's current six-digit code (demo convenience: `clearhouse demo_totp admin`)."""
    device = TOTPDevice.objects.filter(user__username=username, name=DEMO_DEVICE).first()
    if device is None:
        return None
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


@transaction.atomic
def seed_demo() -> bool:
    """Create the demo world; False if it was there already (each part checks for itself)."""
    created = _seed_people()
    created |= seed_demo_catalog()
    created |= seed_demo_customers()
    created |= seed_demo_coupons()
    created |= seed_demo_settlement()
    seed_demo_providers()
    return created


def seed_demo_providers() -> None:
    """The four real providers' simulators, each with fresh keys and a platform account pointing at this
    server (`CLEARHOUSE_PUBLIC_URL`), so every method works offline. Safe to run again."""
    from django.conf import settings

    from clearhouse.sandbox.alipay.demo import demo_provision as alipay
    from clearhouse.sandbox.paypal.demo import demo_provision as paypal
    from clearhouse.sandbox.stripe.demo import demo_provision as stripe
    from clearhouse.sandbox.wechatpay.demo import demo_provision as wechatpay

    for provision in (stripe, alipay, wechatpay, paypal):
        provision(public_url=settings.CLEARHOUSE_PUBLIC_URL)


def _seed_people() -> bool:
    if User.objects.filter(username="admin").exists():
        return False
    types = {
        "food": BusinessType.objects.create(code="food", name="Food & drink"),
        "apparel": BusinessType.objects.create(code="apparel", name="Apparel"),
    }
    merchants = {
        code: merchant_create(code=code, name=name, business_type=types[kind])
        for code, name, kind in DEMO_MERCHANTS
    }
    for username, role, merchant_code in DEMO_USERS:
        user = user_create(username=username, password=demo_password(username), role=role,
                           email=f"{username}@demo.clearhouse.local",
                           merchant=merchants.get(merchant_code) if merchant_code else None)
        if role in MFA_ROLES:
            TOTPDevice.objects.create(user=user, name=DEMO_DEVICE, confirmed=True)
    _seed_postings(merchants)
    return True


def _seed_postings(merchants: dict[str, Merchant]) -> None:
    today = timezone.localdate()
    customer = User.objects.get(username="customer")
    n = 0
    for days_ago in range(21, 0, -1):
        day = today - timedelta(days=days_ago)
        for code, merchant in merchants.items():
            n += 1
            amount = Money(1000 * (n % 17 + 3) + 88, "CNY")
            provider = ("sandbox", "alipay", "wechatpay")[n % 3]
            recipes.payment_captured(payment_id=f"demo-{n}", provider=provider, amount=amount, day=day,
                                     merchant=merchant)
            recipes.provider_fee_charged(payment_id=f"demo-{n}", provider=provider,
                                         fee=amount.apply_rate(Decimal("0.006")), day=day)
            if code == "teahouse" and days_ago % 7 == 0:
                recipes.refund_paid(refund_id=f"demo-r{n}", provider=provider, amount=Money(500, "CNY"), day=day,
                                    merchant=merchant)
    recipes.offline_transfer_received(transfer_id="demo-bt-1", customer=customer, amount=Money(25000, "CNY"),
                                      day=today - timedelta(days=2))
