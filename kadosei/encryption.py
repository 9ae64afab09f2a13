"""Secrets kept encrypted at rest (two-factor TOTP secrets): Fernet (AES-128-CBC with an
HMAC-SHA256) under ``KADOSEI_ENCRYPTION_KEYS``. The first key encrypts, every key decrypts, so
a key is rotated by putting a new one first and re-encrypting (``flask rotate-encryption``)
before the old one is dropped.

Outside production the key is derived from ``SECRET_KEY`` (HKDF-SHA256), so development and
tests need no extra setting; production refuses to start without explicit keys."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_DERIVATION_INFO = b"kadosei encryption key v1"


class DecryptionFailed(Exception):
    """No configured key opens the value (a key was dropped too early, or it was tampered)."""


def derived_key(secret_key: str) -> str:
    """A Fernet key derived from ``SECRET_KEY``: the default outside production."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())).decode()


def parse_keys(value: str) -> tuple[str, ...]:
    """``KADOSEI_ENCRYPTION_KEYS``: comma-separated Fernet keys (``Fernet.generate_key()``:
    32 bytes, url-safe base64), the one that encrypts first."""
    keys = tuple(part.strip() for part in value.split(",") if part.strip())
    if not keys:
        raise ValueError("KADOSEI_ENCRYPTION_KEYS holds no key")
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(
                "each KADOSEI_ENCRYPTION_KEYS key must be 32 url-safe base64-encoded bytes "
                "(python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None
    return keys


def cipher(keys: tuple[str, ...] | None = None) -> MultiFernet:
    """The configured keys (or ``keys``) as one cipher: the first encrypts, all decrypt."""
    keys = keys or current_app.config["KADOSEI_ENCRYPTION_KEYS"]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plaintext: str, keys: tuple[str, ...] | None = None) -> str:
    return cipher(keys).encrypt(plaintext.encode()).decode()


def decrypt(token: str, keys: tuple[str, ...] | None = None) -> str:
    try:
        return cipher(keys).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed("no encryption key opens this value") from None


def rotate(token: str, keys: tuple[str, ...] | None = None) -> str:
    """The same value encrypted under the first key."""
    try:
        return cipher(keys).rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed("no encryption key opens this value") from None
