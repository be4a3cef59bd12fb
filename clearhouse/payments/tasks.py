"""Periodic payment jobs, run by the task worker and enqueued by the scheduler (DESIGN §10)."""

from __future__ import annotations

from django_tasks import task

from clearhouse.payments.services import payment_reminders_send, payments_resolve_stuck


@task()
def resolve_stuck_payments() -> dict:
    """The janitor: ask providers about payments and refunds whose outcome we do not know."""
    report = payments_resolve_stuck()
    return {"resolved": report.resolved, "still_unknown": report.still_unknown, "flagged": report.flagged,
            "voided": report.voided}


@task()
def give_back_payment(*, reference: str) -> str:
    """Money arrived for an order that can no longer take it: refund it in full (captured) or void it (held)."""
    from clearhouse.payments.services import payment_give_back

    return payment_give_back(reference=reference)


@task()
def send_payment_reminders() -> int:
    return payment_reminders_send()
