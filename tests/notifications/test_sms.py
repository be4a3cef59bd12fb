"""SMS backends: one interface; the demo writes files, tests keep messages in memory."""

from __future__ import annotations

import io

from clearhouse.notifications.sms import (
    ConsoleSmsBackend,
    FileSmsBackend,
    LocmemSmsBackend,
    get_sms_backend,
)


def test_the_file_backend_writes_one_file_per_message(settings, tmp_path):
    settings.CLEARHOUSE_SMS_FILE_PATH = str(tmp_path / "sms")
    backend = FileSmsBackend()
    first = backend.send(to="+8613800138000", text="订单 SO-1 待付款")
    second = backend.send(to="+8613800138001", text="second")
    files = sorted((tmp_path / "sms").iterdir())
    assert len(files) == 2 and first != second
    content = next(f for f in files if first in f.name).read_text(encoding="utf-8")
    assert "To: +8613800138000" in content and content.rstrip().endswith("订单 SO-1 待付款")


def test_the_console_backend_prints():
    stream = io.StringIO()
    message_id = ConsoleSmsBackend(stream=stream).send(to="+1555", text="hello")
    assert f"SMS {message_id} to +1555" in stream.getvalue() and "hello" in stream.getvalue()


def test_the_backend_comes_from_settings(settings):
    settings.CLEARHOUSE_SMS_BACKEND = "clearhouse.notifications.sms.LocmemSmsBackend"
    assert isinstance(get_sms_backend(), LocmemSmsBackend)
    settings.CLEARHOUSE_SMS_BACKEND = "clearhouse.notifications.sms.FileSmsBackend"
    assert isinstance(get_sms_backend(), FileSmsBackend)
