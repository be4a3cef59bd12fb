"""WeChat Pay simulator fixtures: tasks run at once, callbacks recorded in memory, a registered merchant,
and a client signing with the wechatpayv3 SDK."""

import pytest

from clearhouse.sandbox.wechatpay.callbacks import delivery_transport
from tests.sandbox.wechatpay.support import CallbackReceiver, SignedClient, register


@pytest.fixture
def wxp_settings(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return settings


@pytest.fixture
def callbacks(wxp_settings):
    receiver = CallbackReceiver()
    with delivery_transport(receiver):
        yield receiver


@pytest.fixture
def registered(db):
    return register()


@pytest.fixture
def sim(registered, callbacks):
    return SignedClient(registered)
