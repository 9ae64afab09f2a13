"""What a page shows once after a form's POST (a new API key, a webhook secret), carried to
the redirected GET (post/redirect/get) in the portal session and gone after the first read.

Flask's session cookie is signed, not encrypted: a value is sealed with a keystream derived
from ``SECRET_KEY`` (HMAC-SHA256 in counter mode, a fresh nonce each time), so a secret never
sits readable in the browser's cookie jar; the cookie's signature keeps it from being altered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app, session

_SESSION_KEY = "kadosei_once"
_NONCE_BYTES = 16


def keep(name: str, value: str) -> None:
    """Hold ``value`` for the next page that asks for ``name``."""
    held = dict(session.get(_SESSION_KEY) or {})
    held[name] = _seal(value)
    session[_SESSION_KEY] = held


def take(name: str) -> str | None:
    """The value kept under ``name`` (then forgotten), or ``None`` once it was read."""
    held = dict(session.get(_SESSION_KEY) or {})
    sealed = held.pop(name, None)
    if sealed is None:
        return None  # the session (and its cookie) stays as it was
    if held:
        session[_SESSION_KEY] = held
    else:
        session.pop(_SESSION_KEY)
    return _open(sealed)


def _keystream(nonce: bytes, length: int) -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    key = hmac.new(secret, b"kadosei.portal.one-time", hashlib.sha256).digest()
    blocks = (length + 31) // 32
    stream = b"".join(
        hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks)
    )
    return stream[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _seal(value: str) -> str:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    data = value.encode()
    return base64.urlsafe_b64encode(nonce + _xor(data, _keystream(nonce, len(data)))).decode()


def _open(sealed: str) -> str:
    raw = base64.urlsafe_b64decode(sealed.encode())
    nonce, data = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    return _xor(data, _keystream(nonce, len(data))).decode()
