"""The sandbox PSPs' notification secrets: one per PSP, ``SANDBOX_SIGNING_SECRETS[psp]`` when
set, otherwise derived from ``SECRET_KEY`` so that every process of a deployment agrees with
no setup. kadosei's adapters read the same secret, as a merchant copies a PSP's webhook secret
from its dashboard."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def signing_secret(provider: str) -> bytes:
    """The provider's notification secret: ``SANDBOX_SIGNING_SECRETS[provider]`` when set,
    otherwise derived from ``SECRET_KEY`` so every process of a deployment agrees."""
    configured = current_app.config["SANDBOX_SIGNING_SECRETS"].get(provider)
    if configured:
        return configured.encode()
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"kadosei-sandbox-notifications:{provider}".encode(), "sha256").digest()


def sign(provider: str, message: bytes, algorithm: str = "sha256") -> bytes:
    """The HMAC of ``message`` with the provider's secret."""
    return hmac.new(signing_secret(provider), message, getattr(hashlib, algorithm)).digest()
