"""Field encryption at rest: AES-256-GCM with key ids, for rotation.

Ciphertexts look like `v1:<kid>:<base64(nonce || ciphertext+tag)>`. The first
key of CLEARHOUSE_ENCRYPTION_KEYS encrypts; every listed key decrypts, so a
new key can be put first and old rows re-encrypted at leisure. The key id and
the field's purpose are bound in as associated data: a ciphertext copied to
another column does not decrypt.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import models

VERSION = "v1"


class DecryptionFailed(Exception):
    """The ciphertext is corrupt, was tampered with, or its key is not configured."""


@lru_cache(maxsize=8)
def _keyring(spec: str) -> tuple[str, dict[str, AESGCM]]:
    keys: dict[str, AESGCM] = {}
    first = ""
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        kid, _, material = item.partition(":")
        raw = base64.b64decode(material)
        if len(raw) != 32:
            raise ValueError(f"encryption key {kid!r} must be 32 bytes (base64)")
        keys[kid] = AESGCM(raw)
        first = first or kid
    if not keys:
        raise ValueError("CLEARHOUSE_ENCRYPTION_KEYS is empty")
    return first, keys


def encrypt(plaintext: str, *, purpose: str) -> str:
    kid, keys = _keyring(settings.CLEARHOUSE_ENCRYPTION_KEYS)
    nonce = os.urandom(12)
    sealed = keys[kid].encrypt(nonce, plaintext.encode(), f"{VERSION}:{kid}:{purpose}".encode())
    return f"{VERSION}:{kid}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, purpose: str) -> str:
    try:
        version, kid, body = token.split(":", 2)
        aead = _keyring(settings.CLEARHOUSE_ENCRYPTION_KEYS)[1][kid]
        raw = base64.b64decode(body)
        return aead.decrypt(raw[:12], raw[12:], f"{version}:{kid}:{purpose}".encode()).decode()
    except (ValueError, KeyError, InvalidTag) as exc:
        raise DecryptionFailed(f"cannot decrypt {purpose}: {type(exc).__name__}") from None


def key_id_of(token: str) -> str:
    return token.split(":", 2)[1]


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads return plaintext. Not searchable by value."""

    def __init__(self, *args, purpose: str = "", **kwargs):
        self.purpose = purpose
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def _purpose(self) -> str:
        return self.purpose or f"{self.model._meta.label_lower}.{self.name}"

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        return encrypt(str(value), purpose=self._purpose())

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value, purpose=self._purpose())
