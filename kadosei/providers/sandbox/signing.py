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


def check_fresh(timestamp: float) -> None:
    if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        raise InvalidNotification("The notification's timestamp is outside the tolerance")
