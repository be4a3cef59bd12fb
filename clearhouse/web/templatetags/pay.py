"""Payment and refund states in the page's language: `{{ intent.status|intent_status }}`."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

INTENT_STATUS_LABELS = {
    "requires_payment": _("Awaiting payment"), "processing": _("Processing"),
    "requires_action": _("Awaiting authentication"), "authorized": _("Authorized"), "captured": _("Captured"),
    "failed": _("Failed"), "cancelled": _("Cancelled"),
}
REFUND_STATUS_LABELS = {
    "awaiting_approval": _("Awaiting approval"), "pending": _("Pending"), "succeeded": _("Refunded"),
    "failed": _("Failed"), "rejected": _("Rejected"),
}
BADGE = {"captured": "ok", "authorized": "ok", "succeeded": "ok", "failed": "bad", "cancelled": "bad",
         "rejected": "bad"}


@register.filter
def intent_status(value: str) -> str:
    return str(INTENT_STATUS_LABELS.get(value, value))


@register.filter
def refund_status(value: str) -> str:
    return str(REFUND_STATUS_LABELS.get(value, value))


@register.filter
def status_badge(value: str) -> str:
    """The badge's colour class for a payment or refund state."""
    return BADGE.get(value, "")


@register.filter
def qr_svg(code: str):
    """A QR code of `code` as inline SVG (made here with segno: no image service, machines may be offline)."""
    import segno
    from django.utils.safestring import mark_safe

    if not code:
        return ""
    return mark_safe(segno.make(code, error="m").svg_inline(scale=5, border=2))  # noqa: S308 (segno's own markup)
