"""Fixtures for the Alipay simulator and Clearhouse's Alipay adapter (imported by the test modules).

Everything runs in-process: the adapter's HTTP goes through `DjangoTransport` to /sandbox/alipay/,
notifications go to a `NotifyReceiver` (or, with `alipay_notify_in_process`, to our own /webhooks/).
Keys are generated per test by `demo_provision`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from django.test import Client

from clearhouse.payments.models import ProviderAccount
from clearhouse.payments.providers import reset_cache
from clearhouse.payments.providers.alipay import AlipayProvider
from clearhouse.payments.providers.http import transport_factory
from clearhouse.sandbox.alipay.demo import DEMO_APP_ID, demo_provision
from clearhouse.sandbox.alipay.models import App
from clearhouse.sandbox.alipay.notify import delivery_transport
from tests.sandbox.support import DjangoTransport

GATEWAY = "http://testserver/sandbox/alipay/gateway.do"
NOTIFY_URL = "https://clearhouse.test/webhooks/alipay/1/"
RETURN_URL = "https://clearhouse.test/pay/SO-1/return/PAY-1/"


@dataclass(frozen=True)
class ReceivedNotify:
    url: str
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class NotifyReceiver(httpx.BaseTransport):
    """Stands in for the merchant's notify_url: records each POST, answers as scripted (then `success`)."""

    def __init__(self) -> None:
        self.received: list[ReceivedNotify] = []
        self.script: list[str | int] = []  # "success", "fail" (body), an HTTP status, or "error"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.script.pop(0) if self.script else "success"
        if answer == "error":
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append(ReceivedNotify(str(request.url), request.read()))
        if isinstance(answer, int):
            return httpx.Response(answer, text="oops", request=request)
        return httpx.Response(200, text=str(answer), request=request)

    @property
    def statuses(self) -> list[str]:
        return [r.params["trade_status"] for r in self.received]


@pytest.fixture
def alipay_settings(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return settings


@pytest.fixture
def notify_receiver(alipay_settings):
    receiver = NotifyReceiver()
    with delivery_transport(receiver):
        yield receiver


@pytest.fixture
def alipay_notify_in_process(notify_receiver):
    """Deliver the simulator's notifications to this project's own URLs in-process (/webhooks/alipay/...)."""
    with delivery_transport(DjangoTransport()):
        yield


@pytest.fixture
def alipay_account(db, alipay_settings):
    """The platform's Alipay account and the simulator's app, with fresh keys (demo_provision)."""
    demo_provision(public_url="http://testserver")
    yield ProviderAccount.objects.get(provider="alipay", merchant__isnull=True)
    reset_cache()


@pytest.fixture
def alipay_app(alipay_account):
    return App.objects.get(app_id=DEMO_APP_ID)


@pytest.fixture
def alipay(alipay_account, notify_receiver):
    """Clearhouse's adapter for that account, talking to the simulator in-process (5 s timeout)."""
    with transport_factory(lambda base_url: DjangoTransport()):
        provider = AlipayProvider.from_account(alipay_account)
        provider._timeout_s = 5
        provider.account_id = alipay_account.pk
        yield provider


def alipay_secrets(account: ProviderAccount) -> dict:
    return json.loads(account.secrets)


def qr_provider(provider: AlipayProvider) -> AlipayProvider:
    provider.flow = "qr"
    return provider


def gateway_call(provider: AlipayProvider, method: str, biz: dict, **extra: str) -> dict:
    """A signed call to the simulator's gateway; the whole parsed body (response object and sign)."""
    with httpx.Client(transport=DjangoTransport(), timeout=5) as client:
        response = client.post(GATEWAY, data=provider.signed_params(method, biz, **extra))
    return response.json()


def controls(provider: AlipayProvider, **values) -> dict:
    body = gateway_call(provider, "clearhouse.sandbox.controls.update", values)
    answer = body["clearhouse_sandbox_controls_update_response"]
    assert answer["code"] == "10000", answer
    return answer


def release_held(provider: AlipayProvider, *, reverse: bool = False) -> int:
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        body = gateway_call(provider, "clearhouse.sandbox.notifications.release", {"reverse": reverse})
    return body["clearhouse_sandbox_notifications_release_response"]["released"]


def open_cashier(client: Client, action_url: str) -> str:
    """Follow page pay's action_url like a browser: the gateway sends us to the cashier page."""
    parts = urlsplit(action_url)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302, response.content.decode()[:1000]
    return response["Location"]


def buyer_pays(client: Client, cashier_url: str, *, account: str = "buyer@sandbox.alipay", password: str = "111111"):
    """The buyer logs in and pays on the cashier / scan page; the notify goes out when the work commits."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(urlsplit(cashier_url).path, {"action": "pay", "account": account, "password": password})


def buyer_cancels(client: Client, cashier_url: str):
    return client.post(urlsplit(cashier_url).path, {"action": "cancel"})
