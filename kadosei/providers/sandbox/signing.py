"""What verifying every sandbox provider's notification signature shares: the PSP's secret
(as its back office publishes it), a freshness window and case-blind header look-up."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from kadosei.providers.base import InvalidNotification
from kadosei.sandbox.api import signing_secret

# Notifications older (or further in the future) than this are refused as replays.
TOLERANCE_SECONDS = 300


def hmac_digest(provider: str, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(signing_secret(provider), message, getattr(hashlib, algorithm)).digest()


def header(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]`` ignoring case (a plain dict in-process, ``Headers`` over HTTP)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def ascii_header(headers: Mapping[str, str], name: str) -> str:
    """The header's value, stripped: ``InvalidNotification`` when it is missing or holds
    anything but printable ASCII (a signature or timestamp never does)."""
    value = header(headers, name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidNotification(f"The {name} header is missing")
    value = value.strip()
    if not (value.isascii() and value.isprintable()):
        raise InvalidNotification(f"The {name} header is malformed")
    return value


def text_or_none(value: object) -> str | None:
    """A notification's optional text field: a string, or nothing whatever else was sent."""
    return value if isinstance(value, str) else None


def check_fresh(timestamp: float) -> None:
    # Compared, not subtracted: an integer too large for a float is simply not fresh.
    now = time.time()
    if not now - TOLERANCE_SECONDS <= timestamp <= now + TOLERANCE_SECONDS:
        raise InvalidNotification("The notification's timestamp is outside the tolerance")
