"""Reads of the Stripe simulator, and the JSON objects its API and events speak (Stripe's v1 shapes).

`expand` follows Stripe's dotted paths: `latest_charge`,
`latest_charge.balance_transaction`, `balance_transaction`, `charge`.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from clearhouse.sandbox.stripe.domain import IntentStatus, key_digest, resource_missing
from clearhouse.sandbox.stripe.models import Account, BalanceTransaction, Charge, PaymentIntent, Refund

Expand = frozenset[str]
NOTHING: Expand = frozenset()


def public_url(path: str) -> str:
    """Absolute address of a simulator page, where customers reach this installation."""
    base = getattr(settings, "CLEARHOUSE_SANDBOX_PUBLIC_URL", settings.CLEARHOUSE_PUBLIC_URL).rstrip("/")
    return f"{base}{path}"


def account_for_key(secret_key: str) -> Account | None:
    if not secret_key.startswith("sk_"):
        return None
    return Account.objects.filter(secret_key_sha256=key_digest(secret_key)).first()


def intent_get(*, account: Account, intent_id: str) -> PaymentIntent:
    intent = PaymentIntent.objects.filter(pk=intent_id, account=account).first()
    if intent is None:
        raise resource_missing("payment_intent", intent_id, param="intent")
    return intent


def refund_get(*, account: Account, refund_id: str) -> Refund:
    refund = Refund.objects.filter(pk=refund_id, account=account).select_related("charge").first()
    if refund is None:
        raise resource_missing("refund", refund_id, param="refund")
    return refund


def _expanded(expand: Expand, name: str) -> bool:
    """Stripe expands `name` when asked for it or for anything beneath it (`latest_charge.balance_transaction`)."""
    return any(e == name or e.startswith(name + ".") for e in expand)


def _sub(expand: Expand, prefix: str) -> Expand:
    return frozenset(e[len(prefix) + 1:] for e in expand if e.startswith(prefix + "."))


def balance_transaction_json(txn: BalanceTransaction) -> dict:
    return {
        "id": txn.pk, "object": "balance_transaction", "amount": txn.amount, "currency": txn.currency,
        "fee": txn.fee, "net": txn.amount - txn.fee, "source": txn.source, "status": "available", "type": txn.type,
        "fee_details": [{"amount": txn.fee, "currency": txn.currency, "type": "stripe_fee",
                         "description": "Stripe processing fees", "application": None}] if txn.fee else [],
        "created": int(txn.created.timestamp()),
    }


def charge_json(charge: Charge, expand: Expand = NOTHING) -> dict:
    txn = charge.balance_transaction
    method = charge.payment_method
    return {
        "id": charge.pk, "object": "charge", "amount": charge.amount, "amount_captured": charge.amount_captured,
        "amount_refunded": charge.amount_refunded, "currency": charge.currency, "status": charge.status,
        "paid": charge.status == "succeeded", "captured": charge.captured,
        "refunded": charge.captured and charge.amount_refunded >= charge.amount_captured,
        "balance_transaction": (balance_transaction_json(txn) if _expanded(expand, "balance_transaction") else txn.pk)
        if txn else None,
        "failure_code": charge.failure_code or None, "failure_message": charge.failure_message or None,
        "payment_intent": charge.payment_intent_id, "payment_method": method.pk,
        "payment_method_details": {"type": "card", "card": {
            "brand": method.brand, "last4": method.last4, "exp_month": method.exp_month,
            "exp_year": method.exp_year}},
        "livemode": False, "created": int(charge.created.timestamp()),
    }


def intent_json(intent: PaymentIntent, expand: Expand = NOTHING) -> dict:
    """The PaymentIntent as the API and events show it."""
    next_action = None
    if intent.status == IntentStatus.REQUIRES_ACTION:
        next_action = {"type": "redirect_to_url", "redirect_to_url": {
            "url": public_url(reverse("sandbox:sandbox_stripe:authenticate", args=[intent.pk])),
            "return_url": intent.return_url or None}}
    charge = intent.latest_charge
    return {
        "id": intent.pk, "object": "payment_intent", "amount": intent.amount,
        "amount_capturable": intent.amount_capturable, "amount_received": intent.amount_received,
        "capture_method": intent.capture_method, "client_secret": intent.client_secret,
        "confirmation_method": "automatic", "currency": intent.currency, "customer": None,
        "description": intent.description or None, "last_payment_error": intent.last_payment_error,
        "latest_charge": (charge_json(charge, _sub(expand, "latest_charge")) if _expanded(expand, "latest_charge")
                          else charge.pk) if charge else None,
        "livemode": False, "metadata": intent.metadata, "next_action": next_action,
        "payment_method": intent.payment_method_id, "payment_method_types": ["card"], "status": intent.status,
        "cancellation_reason": intent.cancellation_reason or None,
        "canceled_at": int(intent.canceled_at.timestamp()) if intent.canceled_at else None,
        "created": int(intent.created.timestamp()),
    }


def refund_json(refund: Refund, expand: Expand = NOTHING) -> dict:
    txn = refund.balance_transaction
    return {
        "id": refund.pk, "object": "refund", "amount": refund.amount, "currency": refund.currency,
        "charge": charge_json(refund.charge, _sub(expand, "charge")) if _expanded(expand, "charge")
        else refund.charge_id,
        "payment_intent": refund.charge.payment_intent_id, "status": refund.status, "reason": refund.reason or None,
        "metadata": refund.metadata,
        "balance_transaction": (balance_transaction_json(txn) if _expanded(expand, "balance_transaction") else txn.pk)
        if txn else None,
        "failure_reason": "unknown" if refund.status == "failed" else None,
        "created": int(refund.created.timestamp()),
    }


def controls_json(account: Account) -> dict:
    return {"object": "test_controls", "account": account.pk, "fail_next_calls": account.fail_next_calls,
            "slow_next_calls": account.slow_next_calls, "slow_s": account.slow_s,
            "drop_webhooks": account.drop_webhooks, "hold_webhooks": account.hold_webhooks,
            "duplicate_webhooks": account.duplicate_webhooks, "pending_refunds": account.pending_refunds}
