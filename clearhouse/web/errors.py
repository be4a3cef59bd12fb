"""Domain errors as shoppers and merchant staff read them: a translated sentence per stable code.

The services' own messages are English and precise (they name SKUs and
amounts); on a page the code picks a sentence in the page's language, and
the precise English text is kept only when the code has no sentence here.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clearhouse.core.errors import DomainError

MESSAGES = {
    "empty_cart": _("Your cart is empty."),
    "invalid_quantity": _("Quantities are whole numbers from 1 to 999."),
    "insufficient_stock": _("Not enough stock: lower the quantity or remove the item. Nothing was changed."),
    "unknown_sku": _("An item in your cart is no longer on sale: remove it and try again."),
    "coupon_not_found": _("There is no coupon with that code."),
    "coupon_invalid": _("That coupon cannot be used."),
    "coupon_not_applicable": _("That coupon does not apply here: shop coupons go in the shop coupon box, "
                               "platform coupons in the platform coupon box."),
    "coupon_expired": _("That coupon has expired."),
    "coupon_not_yet_valid": _("That coupon cannot be used yet."),
    "coupon_min_spend_not_met": _("Your order does not reach that coupon's minimum spend. Nothing was changed."),
    "coupon_exhausted": _("That coupon has been used up."),
    "coupon_limit_per_customer_reached": _("You have already used that coupon as often as it allows."),
    "insufficient_points": _("You do not have that many points."),
    "invalid_points": _("Points are a whole number, 0 or more."),
    "points_exceed_total": _("Those points are worth more than the goods left to pay: redeem fewer."),
    "invalid_transition": _("The order is not in a state that allows this."),
    "order_expired": _("The order was not paid in time and has expired."),
    "not_found": _("Not found."),
    "order_not_payable": _("This order cannot be paid: it is cancelled, expired or has nothing to pay."),
    "order_already_paid": _("This order is already paid."),
    "amount_mismatch": _("The amount does not match the payment's amount."),
    "payment_method_unavailable": _("This payment method is not available."),
    "refund_exceeds_captured": _("The refund is larger than what is left to refund of this payment."),
    "capture_exceeds_authorized": _("The capture is larger than the authorized amount."),
    "self_approval_refused": _("You requested this refund, so someone else must approve it."),
    "provider_unavailable": _("The payment provider did not answer; try again shortly."),
    "provider_rejected": _("The payment provider rejected the request."),
    "payment_declined": _("The payment was declined."),
    "invalid_amount": _("Enter the amount as a decimal number, e.g. 12.34."),
    "too_many_decimals": _("The amount has more decimal places than its currency allows."),
    "float_not_allowed": _("Enter the amount as a decimal number, e.g. 12.34."),
}


def error_text(exc: DomainError) -> str:
    """The sentence to show for a refused request."""
    message = MESSAGES.get(exc.code)
    return str(message) if message is not None else exc.message
