"""Writes of coupons: create one, count a use at checkout, give a use back on cancel.

A use is counted by one conditional UPDATE (`used_count + 1 WHERE used_count
< total_limit`), so concurrent checkouts can never push a coupon past its
total limit; the per-customer limit is checked under the customer's cart
lock, which serialises that customer's checkouts.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from clearhouse.accounts.models import Merchant
from clearhouse.core.audit import audit_record
from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import Money
from clearhouse.orders import domain
from clearhouse.orders.models import CheckoutGroup, Coupon, CouponFunding, CouponKind, CouponRedemption, Order
from clearhouse.orders.selectors import coupon_terms, coupon_uses_by


class DuplicateCoupon(ValidationFailed):
    code = "coupon_code_taken"


@transaction.atomic
def coupon_create(*, code: str, merchant: Merchant | None = None, percent_off: Decimal | None = None,
                  amount_off: Money | None = None, currency: str | None = None, min_spend: Money | None = None,
                  valid_from: datetime | None = None, valid_to: datetime | None = None,
                  per_customer_limit: int | None = None, total_limit: int | None = None, actor=None) -> Coupon:
    """A coupon funded by `merchant` (its lines only) or, without one, by the platform (the whole cart).

    Exactly one of `percent_off` and `amount_off`; the terms are checked by
    the same domain rules checkout applies.
    """
    code = (code or "").strip().upper()
    if not code or len(code) > 40:
        raise ValidationFailed("A coupon code has 1 to 40 characters.", param="code")
    currency = (amount_off.currency if amount_off else None) or (min_spend.currency if min_spend else None) or currency
    if not currency:
        raise ValidationFailed("Say the coupon's currency.", param="currency")
    domain.Coupon(code=code, merchant_id=merchant.pk if merchant else None, percent=percent_off, fixed=amount_off,
                  min_spend=min_spend, valid_from=valid_from, valid_until=valid_to, total_limit=total_limit,
                  per_customer_limit=per_customer_limit)
    if min_spend is not None and min_spend.currency != currency:
        raise ValidationFailed("The minimum spend is in the coupon's currency.", param="min_spend")
    try:
        with transaction.atomic():
            coupon = Coupon.objects.create(
                code=code, funded_by=CouponFunding.MERCHANT if merchant else CouponFunding.PLATFORM,
                merchant=merchant, kind=CouponKind.PERCENT if percent_off is not None else CouponKind.FIXED,
                percent_off=percent_off, value_minor=amount_off.minor if amount_off else None, currency=currency,
                min_spend_minor=min_spend.minor if min_spend else 0, valid_from=valid_from, valid_to=valid_to,
                per_customer_limit=per_customer_limit, total_limit=total_limit,
            )
    except IntegrityError:
        raise DuplicateCoupon(f"Coupon code {code} is taken.", param="code") from None
    audit_record(action="orders.coupon_created", actor=actor, object_type="coupon", object_id=coupon.pk,
                 payload={"code": code, "merchant": merchant.code if merchant else None})
    return coupon


def coupon_use(*, coupon: Coupon, customer_id: int, group: CheckoutGroup, order: Order | None,
               now: datetime) -> CouponRedemption:
    """Count one use of `coupon` by this checkout, or refuse (exhausted, per-customer limit, window).

    Call inside the checkout's transaction, holding the customer's cart lock.
    """
    terms = coupon_terms(coupon)
    domain.check_coupon_window(terms, now=now)
    domain.check_coupon_usage(terms, total_used=0, customer_used=coupon_uses_by(coupon=coupon,
                                                                                customer_id=customer_id))
    won = Coupon.objects.filter(pk=coupon.pk).filter(
        Q(total_limit__isnull=True) | Q(used_count__lt=F("total_limit"))).update(used_count=F("used_count") + 1)
    if not won:
        raise domain.CouponExhausted(f"Coupon {coupon.code} has no uses left.", param="coupon")
    return CouponRedemption.objects.create(coupon=coupon, customer_id=customer_id, group=group, order=order)


def coupon_release(*, redemption: CouponRedemption) -> bool:
    """Give a use back (its orders were cancelled); False if it was given back already."""
    released = CouponRedemption.objects.filter(pk=redemption.pk, released_at__isnull=True).update(
        released_at=timezone.now())
    if released:
        Coupon.objects.filter(pk=redemption.coupon_id, used_count__gt=0).update(used_count=F("used_count") - 1)
    return bool(released)
