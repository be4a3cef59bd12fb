"""Field encryption: AES-GCM, key ids for rotation, tamper detection."""

import base64

import pytest

from clearhouse.core.crypto import DecryptionFailed, decrypt, encrypt, key_id_of

KEY_A = "a:" + base64.b64encode(b"A" * 32).decode()
KEY_B = "b:" + base64.b64encode(b"B" * 32).decode()


def test_round_trip_and_ciphertext_hides_the_plaintext(settings):
    settings.CLEARHOUSE_ENCRYPTION_KEYS = KEY_A
    token = encrypt("DE89370400440532013000", purpose="bank.iban")
    assert "DE89" not in token
    assert token.startswith("v1:a:")
    assert decrypt(token, purpose="bank.iban") == "DE89370400440532013000"
    assert encrypt("same", purpose="p") != encrypt("same", purpose="p")  # fresh nonce each time


def test_rotation_new_key_encrypts_old_key_still_decrypts(settings):
    settings.CLEARHOUSE_ENCRYPTION_KEYS = KEY_A
    old = encrypt("secret", purpose="p")
    settings.CLEARHOUSE_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    new = encrypt("secret", purpose="p")
    assert key_id_of(new) == "b"
    assert decrypt(old, purpose="p") == decrypt(new, purpose="p") == "secret"


def test_tampering_wrong_purpose_or_missing_key_is_refused(settings):
    settings.CLEARHOUSE_ENCRYPTION_KEYS = KEY_A
    token = encrypt("secret", purpose="p")
    body = bytearray(base64.b64decode(token.split(":", 2)[2]))
    body[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        decrypt("v1:a:" + base64.b64encode(bytes(body)).decode(), purpose="p")
    with pytest.raises(DecryptionFailed):
        decrypt(token, purpose="other.column")
    settings.CLEARHOUSE_ENCRYPTION_KEYS = KEY_B
    with pytest.raises(DecryptionFailed):
        decrypt(token, purpose="p")
