"""In-process HTTP for the sandbox provider: httpx transports that never open a socket.

`DjangoTransport` serves an httpx request with Django's test client, so the
adapter, the sandbox and (later) Clearhouse's webhook endpoint all run inside
the test's database transaction. It runs the on-commit callbacks the request
registered (webhook delivery) and emulates timeouts faithfully: when the server
took longer than the request's read timeout, the server-side work is done and
committed, and then the caller gets `httpx.ReadTimeout`.

`WebhookReceiver` records the webhooks the sandbox sends and answers with
scripted statuses (an int, or "error" for a connection failure).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from django.test import Client, TestCase

# Headers httpx adds that Django's test client sets itself (Host must stay "testserver").
_SKIPPED_HEADERS = {"host", "content-length", "content-type", "accept-encoding", "connection"}


class DjangoTransport(httpx.BaseTransport):
    """Routes httpx requests to this Django project through `django.test.Client().generic(...)`."""

    def __init__(self) -> None:
        self.client = Client()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIPPED_HEADERS}
        started = time.monotonic()
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = self.client.generic(
                request.method, request.url.raw_path.decode("ascii"), data=body,
                content_type=request.headers.get("content-type", "application/octet-stream"),
                secure=request.url.scheme == "https", headers=headers,
            )
        read_timeout = (request.extensions.get("timeout") or {}).get("read")
        if read_timeout is not None and time.monotonic() - started > read_timeout:
            raise httpx.ReadTimeout(f"No answer within {read_timeout} s (the server finished later).", request=request)
        return httpx.Response(response.status_code, headers=list(response.items()), content=response.content,
                              request=request)


@dataclass(frozen=True)
class ReceivedWebhook:
    url: str
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver(httpx.BaseTransport):
    """Stands in for the merchant's webhook endpoint: records every POST, answers as scripted."""

    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self.script: list[int | str] = []  # answers for the next deliveries; then 200

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.script.pop(0) if self.script else 200
        if answer == "error":
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append(ReceivedWebhook(str(request.url), request.read(), dict(request.headers)))
        return httpx.Response(int(answer), json={"received": True}, request=request)

    @property
    def events(self) -> list[dict]:
        return [r.event for r in self.received]

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


def pay_on_checkout(client: Client, *, checkout_url: str, number: str, expiry: str = "12/34", cvc: str = "123",
                    cardholder: str = "Lin Wei") -> str:
    """Fill in the hosted card form like a customer; returns the payment method id from the redirect."""
    response = client.post(urlsplit(checkout_url).path + "?" + urlsplit(checkout_url).query,
                           {"number": number, "expiry": expiry, "cvc": cvc, "cardholder": cardholder})
    assert response.status_code == 302, response.content.decode()[:2000]
    return parse_qs(urlsplit(response["Location"]).query)["payment_method"][0]
