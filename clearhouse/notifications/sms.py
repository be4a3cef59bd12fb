"""SMS backends: one small interface, chosen by settings.CLEARHOUSE_SMS_BACKEND.

    backend = get_sms_backend()
    message_id = backend.send(to="+8613800138000", text="...")

`send` returns the gateway's message id and raises on failure (the caller,
`notification_send`, records the error). A real gateway (Aliyun SMS, Twilio,
...) is one more subclass; the demo writes files, the tests use locmem.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.utils.module_loading import import_string


class BaseSmsBackend:
    """Sends one text message; returns the message id the gateway assigned."""

    def send(self, *, to: str, text: str) -> str:
        raise NotImplementedError

    @staticmethod
    def _new_id() -> str:
        return f"sms_{uuid.uuid4().hex}"


class ConsoleSmsBackend(BaseSmsBackend):
    """Prints each message (development)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def send(self, *, to: str, text: str) -> str:
        message_id = self._new_id()
        self.stream.write(f"SMS {message_id} to {to}:\n{text}\n{'-' * 60}\n")
        self.stream.flush()
        return message_id


class FileSmsBackend(BaseSmsBackend):
    """Writes one file per message under settings.CLEARHOUSE_SMS_FILE_PATH (the demo's outbox)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path or settings.CLEARHOUSE_SMS_FILE_PATH)

    def send(self, *, to: str, text: str) -> str:
        message_id = self._new_id()
        now = datetime.now(UTC)
        self.path.mkdir(parents=True, exist_ok=True)
        # Timestamp first so `ls` lists the outbox in sending order.
        name = f"{now:%Y%m%d-%H%M%S}-{message_id}.txt"
        (self.path / name).write_text(f"To: {to}\nDate: {now.isoformat()}\nId: {message_id}\n\n{text}\n",
                                      encoding="utf-8")
        return message_id


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """A message the locmem backend kept."""

    id: str
    to: str
    text: str


outbox: list[SmsMessage] = []
"""Messages sent through LocmemSmsBackend, oldest first; tests read and clear it."""


class LocmemSmsBackend(BaseSmsBackend):
    """Keeps messages in the module-level `outbox` list (tests)."""

    def send(self, *, to: str, text: str) -> str:
        message_id = self._new_id()
        outbox.append(SmsMessage(id=message_id, to=to, text=text))
        return message_id


def get_sms_backend() -> BaseSmsBackend:
    """An instance of the backend named by settings.CLEARHOUSE_SMS_BACKEND (a dotted class path)."""
    backend_class = import_string(settings.CLEARHOUSE_SMS_BACKEND)
    return backend_class()
