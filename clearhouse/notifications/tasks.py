"""Background sending of notifications (run by the task worker; `notify_after_commit` enqueues)."""

from __future__ import annotations

from django_tasks import task

from clearhouse.notifications.services import attachments_decode, notification_send


@task()
def notification_send_task(*, template: str, channel: str, recipient: str, context: dict, language: str = "en",
                           dedupe_key: str = "", related: list[str] | None = None,
                           attachments: list[list[str]] | None = None, attachment_builder: str = "",
                           attachment_builder_kwargs: dict | None = None) -> dict:
    """Send one notification; arguments as `notify_after_commit` encoded them (attachments base64).

    Safe to run twice: the dedupe key (when given) makes the second run a no-op.
    Returns the delivery's id and status (the task result must be JSON).
    """
    delivery = notification_send(
        template=template, channel=channel, recipient=recipient, context=context, language=language,
        dedupe_key=dedupe_key, related=(related[0], related[1]) if related else None,
        attachments=attachments_decode(attachments), attachment_builder=attachment_builder,
        attachment_builder_kwargs=attachment_builder_kwargs)
    return {"delivery_id": delivery.pk, "status": delivery.status}


@task()
def notifications_send_task(*, messages: list[dict]) -> list[dict]:
    """Send several notifications from one task (an email and an SMS about one event): one queue row, one claim."""
    return [notification_send_task.call(**message) for message in messages]
