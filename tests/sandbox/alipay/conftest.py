"""Alipay simulator fixtures (defined in tests/sandbox/alipay/fixtures.py)."""

from tests.sandbox.alipay.fixtures import (  # noqa: F401
    alipay,
    alipay_account,
    alipay_app,
    alipay_notify_in_process,
    alipay_settings,
    notify_receiver,
)
