"""The real WeChat Pay v3 callback in ../shared/samples/webhooks/ (from the official wechatpay-go SDK's
tests; see PROVENANCE.md) verifies and decrypts with the keys stored beside it, through Clearhouse's own
code; changing one byte of the body, the signature or the timestamp makes it fail.

Its timestamp is from 2021, so verification is given the sample's own clock (`now`). Its APIv3 key is the
SDK's 16-byte test key, so the cipher is really AES-128-GCM although labelled AEAD_AES_256_GCM."""

import base64
import json
from pathlib import Path

import pytest

from clearhouse.payments.providers.base import WebhookRejected
from clearhouse.payments.providers.wechatpay import (
    SignatureInvalid,
    WeChatPayProvider,
    certificate_keys,
    decrypt_resource,
    verify_signed_message,
)
from clearhouse.sandbox.wechatpay.domain import new_rsa_key, private_pem

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "webhooks"
if not SAMPLES.exists():  # the checkout's sibling `shared` folder
    SAMPLES = Path("/work/shared/samples/webhooks")
BODY = (SAMPLES / "wechatpay_PAYSCORE.USER_OPEN_SERVICE.json").read_bytes()
COMPANION = json.loads((SAMPLES / "wechatpay_PAYSCORE.USER_OPEN_SERVICE.companion.json").read_text())
HEADERS = COMPANION["headers"]
NOW = COMPANION["test_clock_unix"]
KEYS = certificate_keys([COMPANION["wechatpay_platform_certificate_pem"]])


def flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def test_the_sample_platform_certificate_has_the_serial_in_the_headers():
    assert list(KEYS) == [HEADERS["Wechatpay-Serial"]] == ["D7CE59D1F522D701"]


def test_the_real_callback_verifies_and_its_resource_decrypts():
    assert verify_signed_message(body=BODY, headers=HEADERS, platform_keys=KEYS, now=NOW) == "D7CE59D1F522D701"
    resource = json.loads(BODY)["resource"]
    plaintext = decrypt_resource(resource, COMPANION["mch_apiv3_key"].encode())
    assert plaintext.decode() == COMPANION["expected_resource_plaintext"]


def test_one_byte_changed_in_the_body_fails():
    for index in (0, len(BODY) // 2, len(BODY) - 3):
        tampered = BODY[:index] + bytes([BODY[index] ^ 0x01]) + BODY[index + 1:]
        with pytest.raises(SignatureInvalid, match="does not verify"):
            verify_signed_message(body=tampered, headers=HEADERS, platform_keys=KEYS, now=NOW)


def test_one_byte_changed_in_the_signature_fails():
    raw = bytearray(base64.b64decode(HEADERS["Wechatpay-Signature"]))
    raw[10] ^= 0x01
    for signature in (base64.b64encode(bytes(raw)).decode(), flip(HEADERS["Wechatpay-Signature"], 5)):
        with pytest.raises(SignatureInvalid):
            verify_signed_message(body=BODY, headers={**HEADERS, "Wechatpay-Signature": signature},
                                  platform_keys=KEYS, now=NOW)


def test_a_changed_timestamp_fails_even_within_the_window():
    changed = str(NOW + 1)  # still inside ±5 minutes of the clock, but not what was signed
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_signed_message(body=BODY, headers={**HEADERS, "Wechatpay-Timestamp": changed}, platform_keys=KEYS,
                              now=NOW)


def test_the_sample_is_refused_today_and_beyond_five_minutes():
    with pytest.raises(SignatureInvalid, match="timestamp"):
        verify_signed_message(body=BODY, headers=HEADERS, platform_keys=KEYS, now=NOW + 301)
    verify_signed_message(body=BODY, headers=HEADERS, platform_keys=KEYS, now=NOW + 299)


def test_one_byte_changed_in_the_ciphertext_fails_to_decrypt():
    resource = dict(json.loads(BODY)["resource"])
    raw = bytearray(base64.b64decode(resource["ciphertext"]))
    raw[3] ^= 0x01
    with pytest.raises(SignatureInvalid):
        decrypt_resource({**resource, "ciphertext": base64.b64encode(bytes(raw)).decode()},
                         COMPANION["mch_apiv3_key"].encode())
    with pytest.raises(SignatureInvalid):
        decrypt_resource(resource, b"testMchAPIv3Key1")


def adapter(**overrides) -> WeChatPayProvider:
    """The adapter with the sample's account: its certificate and APIv3 key, the clock at the sample's time.
    The merchant private key only signs requests (none are made here): a fresh one."""
    plaintext = json.loads(COMPANION["expected_resource_plaintext"])
    arguments = {"mchid": plaintext["mchid"], "appid": plaintext["appid"], "cert_serial_no": "0",
                 "private_key_pem": private_pem(new_rsa_key()), "apiv3_key": COMPANION["mch_apiv3_key"],
                 "platform_certificates": [COMPANION["wechatpay_platform_certificate_pem"]], "clock": lambda: NOW}
    return WeChatPayProvider(**{**arguments, **overrides})


def test_the_adapter_parses_the_real_callback_it_handles_no_payscore_event():
    event = adapter().parse_webhook(body=BODY, headers=HEADERS)
    assert event.event_id == "3119dfba-e649-5eec-ab1e-3412bc4d2e17" and event.type == "PAYSCORE.USER_OPEN_SERVICE"
    assert event.payment is None and event.refund is None  # the core refuses it as an unhandled event type
    assert event.raw["resource"]["out_contract_code"] == "21640bdbd08e473e828f3206a2741c6e"


@pytest.mark.parametrize("change", ["body", "signature", "timestamp", "clock"])
def test_the_adapter_refuses_the_real_callback_changed_anywhere(change):
    body, headers, clock = BODY, dict(HEADERS), NOW
    if change == "body":
        body = BODY.replace(b"PAYSCORE.USER_OPEN_SERVICE", b"PAYSCORE.USER_OPEN_SERVICF")
    elif change == "signature":
        headers["Wechatpay-Signature"] = flip(headers["Wechatpay-Signature"], 20)
    elif change == "timestamp":
        headers["Wechatpay-Timestamp"] = str(NOW - 1)
    else:
        clock = NOW + 3600
    with pytest.raises(WebhookRejected):
        adapter(clock=lambda: clock).parse_webhook(body=body, headers=headers)
