"""The real signed Alipay notification in ../shared/samples/webhooks/ (from alipay-sdk-nodejs-all's test
suite, see PROVENANCE.md there) verifies through Clearhouse's own code with the public key stored beside
it; one changed byte of the body or of the signature makes it fail."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest

from clearhouse.core.money import Money
from clearhouse.payments.providers.alipay import (
    BEIJING,
    AlipayProvider,
    load_public_key,
    sign_content,
    verify_notification,
)
from clearhouse.payments.providers.base import ProviderStatus, WebhookRejected
from clearhouse.sandbox.alipay.domain import new_key_pair

SAMPLES = Path("/work/shared/samples/webhooks")
pytestmark = pytest.mark.skipif(not (SAMPLES / "alipay_trade_status_sync.json").exists(),
                                reason="the shared samples are not on this machine")


def sample() -> dict[str, str]:
    return json.loads((SAMPLES / "alipay_trade_status_sync.json").read_text(encoding="utf-8"))


def public_key():
    return load_public_key((SAMPLES / "alipay_trade_status_sync.verify_pubkey.txt").read_text())


def provider(clock: float) -> AlipayProvider:
    """An adapter configured as the sample's merchant (its app id, seller id and Alipay public key)."""
    app_private, _ = new_key_pair()
    return AlipayProvider(app_id="2019073166072302", seller_id="2088531891668739", app_private_key=app_private,
                          alipay_public_key=(SAMPLES / "alipay_trade_status_sync.verify_pubkey.txt").read_text(),
                          api_base="https://openapi.alipay.com/gateway.do", clock=lambda: clock)


def flip(text: str, at: int) -> str:
    """`text` with the character at `at` replaced by another one of the same kind."""
    replacement = "B" if text[at] == "A" else "A"
    return text[:at] + replacement + text[at + 1:]


def test_our_canonical_string_is_the_stored_sign_content():
    expected = (SAMPLES / "alipay_trade_status_sync.signcontent.txt").read_text(encoding="utf-8").rstrip("\n")
    assert sign_content(sample(), exclude=("sign", "sign_type")) == expected


def test_the_real_notification_verifies_with_the_stored_key():
    assert verify_notification(sample(), public_key())


@pytest.mark.parametrize("field", ["total_amount", "out_trade_no", "subject", "notify_id"])
def test_one_changed_byte_of_the_body_fails(field):
    params = sample()
    params[field] = params[field][:-1] + ("1" if params[field][-1] != "1" else "2")
    assert not verify_notification(params, public_key())


@pytest.mark.parametrize("at", [0, 100, 343])
def test_one_changed_byte_of_the_signature_fails(at):
    params = sample()
    params["sign"] = flip(params["sign"], at)
    assert not verify_notification(params, public_key())


def test_the_real_notification_passes_parse_webhook_when_fresh_and_is_refused_when_expired():
    """Through the whole of parse_webhook with the form body as it arrives on the wire."""
    body = (SAMPLES / "alipay_trade_status_sync.txt").read_bytes().strip()
    assert dict(parse_qsl(body.decode())) == sample()
    sent = datetime(2019, 8, 15, 15, 56, 25, tzinfo=BEIJING).timestamp()

    event = provider(clock=sent + 5).parse_webhook(body=body, headers={})

    assert event.event_id == "2019081500222155624068450559358070"
    assert event.payment.status == ProviderStatus.CAPTURED and event.payment.amount == Money(10, "CNY")
    assert event.payment.provider_reference == "20190815155618536-564-57"
    assert event.payment.transaction_reference == "2019081522001468450512505578"
    with pytest.raises(WebhookRejected, match="expired"):
        provider(clock=sent + 25 * 3600).parse_webhook(body=body, headers={})
    tampered = sample()
    tampered["total_amount"] = "0.11"
    with pytest.raises(WebhookRejected, match="signature"):
        provider(clock=sent + 5).parse_webhook(body=urlencode(tampered).encode(), headers={})
