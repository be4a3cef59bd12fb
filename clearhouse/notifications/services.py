"""Sending email and SMS: render a template in the recipient's language, send, log the delivery.

    notification_send(template="payment_failed", channel="sms", recipient="+8613800138000",
                      context={...}, language="zh-hans", dedupe_key="payment_failed:PA-1",
                      related=("order", "SO-20261123-000001"))

Rules:
- One `Delivery` row per attempt to reach one recipient; a non-empty
  `dedupe_key` exists at most once (database constraint), so a slot ("the
  10-minute reminder of order SO-1") is sent at most once however often the
  caller retries: the row is claimed before anything is sent.
- A failure to render or send is recorded on the row (status "failed",
  error text) and never raised: a notification must not break a payment.
- An empty recipient (a customer without phone or email) is logged as
  "skipped".
- Inside a transaction, call `notify_after_commit` instead: the message goes
  out from the task worker after the commit, so a rolled-back payment sends
  nothing and the request does not wait for SMTP.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid
from functools import cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import IntegrityError, transaction
from django.template import Context, Engine, TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from clearhouse.notifications.models import Channel, Delivery, DeliveryStatus
from clearhouse.notifications.sms import get_sms_backend

logger = logging.getLogger(__name__)

Attachment = tuple[str, bytes, str]
"""(filename, content, MIME type), e.g. ("voucher-SO-1.pdf", pdf_bytes, "application/pdf")."""

DEDUPE_KEY_MAX = 200


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A template rendered for one channel and language."""

    subject: str
    body: str
    html: str | None


@cache
def _text_engine() -> Engine:
    # Plain text (subjects, text bodies, SMS) must not be HTML-escaped: "Tom & Jerry" stays as written.
    return Engine(app_dirs=True, autoescape=False, libraries={"i18n": "django.templatetags.i18n"})


def _render_text(name: str, context: dict) -> str:
    return _text_engine().get_template(name).render(Context(context, autoescape=False))


def _render_html(name: str, context: dict) -> str | None:
    try:
        return render_to_string(name, context)
    except TemplateDoesNotExist:
        return None


def notification_render(*, template: str, channel: str, context: dict, language: str = "en") -> RenderedMessage:
    """Render `notifications/<template>/` for a channel: email uses subject.txt, body.txt and, if present,
    body.html; SMS uses sms.txt. Strings are translated into `language`."""
    base = f"notifications/{template}"
    with translation.override(_language(language)):
        if channel == Channel.SMS:
            return RenderedMessage(subject="", body=_render_text(f"{base}/sms.txt", context).strip(), html=None)
        subject = " ".join(_render_text(f"{base}/subject.txt", context).split())  # headers are one line
        body = _render_text(f"{base}/body.txt", context).strip() + "\n"
        return RenderedMessage(subject=subject, body=body, html=_render_html(f"{base}/body.html", context))


def _language(language: str) -> str:
    """A supported language code ("zh_Hans", "zh-Hans" -> "zh-hans"); unknown ones fall back to the default."""
    try:
        return translation.get_supported_language_variant((language or "").replace("_", "-").lower())
    except LookupError:
        return settings.LANGUAGE_CODE


def _check_call(*, channel: str, dedupe_key: str, related: tuple[str, str] | None) -> None:
    # Programming errors, raised at once so tests catch them; everything after this point is logged, not raised.
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}; one of {Channel.values}")
    if len(dedupe_key) > DEDUPE_KEY_MAX:
        raise ValueError(f"dedupe_key longer than {DEDUPE_KEY_MAX} characters: {dedupe_key!r}")
    if related is not None and len(related) != 2:
        raise ValueError("related is a (type, id) pair")


def _delivery_claim(**fields) -> tuple[Delivery, bool]:
    """Insert the delivery row, or find the one already holding its dedupe key (then created is False)."""
    key = fields["dedupe_key"]
    if key:
        existing = Delivery.objects.filter(dedupe_key=key).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():  # a savepoint: losing the race must not poison the caller's transaction
            return Delivery.objects.create(**fields), True
    except IntegrityError:
        if not key:
            raise
        return Delivery.objects.get(dedupe_key=key), False


def _mark_failed(delivery: Delivery, exc: Exception) -> Delivery:
    logger.warning("notification %s (%s to %s) failed: %s", delivery.pk, delivery.template, delivery.recipient,
                   exc, exc_info=exc)
    delivery.status = DeliveryStatus.FAILED
    delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
    delivery.save(update_fields=["status", "error", "subject", "body", "attempts"])
    return delivery


def _send_email(*, recipient: str, message: RenderedMessage, attachments: list[Attachment]) -> str:
    message_id = make_msgid(domain=DNS_NAME)
    email = EmailMultiAlternatives(subject=message.subject, body=message.body, from_email=settings.DEFAULT_FROM_EMAIL,
                                   to=[recipient], headers={"Message-ID": message_id,
                                                            "Auto-Submitted": "auto-generated"})
    if message.html:
        email.attach_alternative(message.html, "text/html")
    for filename, content, mimetype in attachments:
        email.attach(filename, content, mimetype)
    email.send(fail_silently=False)
    return message_id


def _build_attachments(attachments: list[Attachment] | None, builder: str, builder_kwargs: dict | None
                       ) -> list[Attachment]:
    built = list(attachments or [])
    if builder:
        make: Callable[..., list[Attachment]] = import_string(builder)
        built.extend(make(**(builder_kwargs or {})))
    return built


def notification_send(*, template: str, channel: str, recipient: str, context: dict, language: str = "en",
                      dedupe_key: str = "", related: tuple[str, str] | None = None,
                      attachments: list[Attachment] | None = None, attachment_builder: str = "",
                      attachment_builder_kwargs: dict | None = None) -> Delivery:
    """Render and send one message now; returns its Delivery row (sent, failed, skipped, or the earlier one).

    A dedupe key already used returns that earlier delivery and sends nothing.
    Render and send errors end as status "failed" with the error, never as an
    exception. Attachments (email only) are given as bytes, or built by
    `attachment_builder`, a dotted path to a function called with
    `attachment_builder_kwargs` and returning [(filename, bytes, mimetype)];
    the builder runs only when the message is really going out.
    """
    _check_call(channel=channel, dedupe_key=dedupe_key, related=related)
    recipient = (recipient or "").strip()
    related_type, related_id = related or ("", "")
    delivery, created = _delivery_claim(
        channel=channel, recipient=recipient[:254], template=template, language=_language(language),
        dedupe_key=dedupe_key, related_type=related_type[:50], related_id=str(related_id)[:100],
        status=DeliveryStatus.QUEUED if recipient else DeliveryStatus.SKIPPED)
    if not created or not recipient:
        return delivery
    delivery.attempts += 1
    try:
        files = _build_attachments(attachments, attachment_builder, attachment_builder_kwargs)
        message = notification_render(template=template, channel=channel, language=delivery.language,
                                      context={**context, "attachment_names": [f[0] for f in files]})
        delivery.subject, delivery.body = message.subject[:300], message.body
        if channel == Channel.SMS:
            delivery.message_id = get_sms_backend().send(to=recipient, text=message.body)
        else:
            delivery.message_id = _send_email(recipient=recipient, message=message, attachments=files)
    except Exception as exc:  # recorded on the row: a failed notification must not fail the caller
        return _mark_failed(delivery, exc)
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
    delivery.save(update_fields=["status", "subject", "body", "message_id", "attempts", "sent_at"])
    return delivery


def attachments_encode(attachments: list[Attachment] | None) -> list[list[str]]:
    """Attachments as JSON for a task's arguments: [[filename, base64 content, mimetype], ...]."""
    return [[name, base64.b64encode(content).decode("ascii"), mimetype]
            for name, content, mimetype in attachments or []]


def attachments_decode(encoded: list[list[str]] | None) -> list[Attachment]:
    return [(name, base64.b64decode(content), mimetype) for name, content, mimetype in encoded or []]


def _task_arguments(*, template: str, channel: str, recipient: str, context: dict, language: str = "en",
                    dedupe_key: str = "", related: tuple[str, str] | None = None,
                    attachments: list[Attachment] | None = None, attachment_builder: str = "",
                    attachment_builder_kwargs: dict | None = None) -> dict:
    _check_call(channel=channel, dedupe_key=dedupe_key, related=related)
    arguments = {
        "template": template, "channel": channel, "recipient": recipient or "", "context": context,
        "language": language, "dedupe_key": dedupe_key, "related": list(related) if related else None,
        "attachments": attachments_encode(attachments), "attachment_builder": attachment_builder,
        "attachment_builder_kwargs": attachment_builder_kwargs or {},
    }
    json.dumps(arguments)  # a TypeError here, in the caller, beats one in the worker after the commit
    return arguments


def notify_after_commit(**message) -> None:
    """Send through `notification_send` from the task worker once the current transaction commits.

    Takes `notification_send`'s arguments. Nothing is sent if the transaction
    rolls back. Task arguments are JSON, so `context` (and
    `attachment_builder_kwargs`) must hold strings and numbers (format
    amounts and dates before calling), attachments given as bytes travel
    base64-encoded, and a large or costly attachment (a PDF voucher) is
    better given as `attachment_builder` + kwargs, so the worker renders it.
    A failure to enqueue is logged, not raised: the caller's commit already
    happened.
    """
    notify_many_after_commit(messages=[message])


def notify_many_after_commit(*, messages: list[dict]) -> None:
    """Like `notify_after_commit` for several messages about one event (email and SMS): one task for all."""
    encoded = [_task_arguments(**message) for message in messages]

    def enqueue() -> None:
        from clearhouse.notifications.tasks import notification_send_task, notifications_send_task

        if len(encoded) == 1:
            notification_send_task.enqueue(**encoded[0])
        else:
            notifications_send_task.enqueue(messages=encoded)

    transaction.on_commit(enqueue, robust=True)
