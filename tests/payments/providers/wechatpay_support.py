"""Fixtures for the WeChat Pay adapter tests (import them into the test module): the simulator with a
registered merchant, Clearhouse's adapter talking to it in-process, and callbacks recorded in memory."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.providers.wechatpay import WeChatPayProvider
from clearhouse.sandbox.wechatpay.callbacks import delivery_transport
from tests.sandbox.support import DjangoTransport
from tests.sandbox.wechatpay.support import BASE, CallbackReceiver, RegisteredMerchant, SignedClient, register


@dataclass
class WeChatPayWorld:
    provider: WeChatPayProvider
    registered: RegisteredMerchant
    callbacks: CallbackReceiver
    sim: SignedClient

    def adapter(self, **overrides) -> WeChatPayProvider:
        """Another adapter for the same merchant (e.g. another clock, no configured certificate)."""
        return make_adapter(self.registered, **overrides)


def make_adapter(registered: RegisteredMerchant, **overrides) -> WeChatPayProvider:
    merchant = registered.merchant
    arguments = {"mchid": merchant.mchid, "appid": merchant.appid, "cert_serial_no": registered.serial,
                 "private_key_pem": registered.private_key_pem, "apiv3_key": registered.apiv3_key,
                 "api_base": BASE, "platform_certificates": [merchant.platform_certificate],
                 "scan_url": f"{BASE}/scan/", "timeout_s": 5}
    return WeChatPayProvider(**{**arguments, **overrides})


@pytest.fixture
def wechatpay(db, settings):
    """The adapter, the simulator merchant it talks to, the callbacks the simulator sent, a raw SDK client."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    registered = register()
    receiver = CallbackReceiver()
    with delivery_transport(receiver), transport_factory(lambda base_url: DjangoTransport()):
        yield WeChatPayWorld(make_adapter(registered), registered, receiver, SignedClient(registered))
