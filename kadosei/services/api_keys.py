"""API keys: created with a secret shown once, stored as a keyed digest, revoked at once."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, select, update

from kadosei.errors import AuthenticationFailed, invalid
from kadosei.extensions import db
from kadosei.models import ApiKey, Application
from kadosei.models.base import random_base62, utcnow
from kadosei.schemas.requests import ApiKeyCreate
from kadosei.services import provider_accounts
from kadosei.services.audit import record_audit

SECRET_LENGTH = 44  # base62 characters: ~262 bits, more than 32 random bytes
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    secret: str
    warning: str | None = None  # e.g. a live key while live mode can take nothing


@dataclass(frozen=True)
class KeyContext:
    """What an authenticated API key decides: the application and the mode."""

    api_key_id: str
    application: Application
    mode: str


def key_digest(secret: str) -> str:
    pepper = current_app.config["KADOSEI_API_KEY_PEPPER"].encode()
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def create_api_key(
    application: Application, fields: ApiKeyCreate, *, user_id: str | None = None
) -> NewApiKey:
    """A new key for ``application``; the secret is returned here and never again."""
    mode, name = fields.mode, fields.name
    if application.archived:
        raise invalid("application", "An archived application cannot get new keys")
    secret = f"ks_{mode}_{random_base62(SECRET_LENGTH)}"
    key = ApiKey(
        application_id=application.id,
        mode=mode,
        name=name,
        digest=key_digest(secret),
        prefix=secret[: len(f"ks_{mode}_") + 4],
        last4=secret[-4:],
    )
    db.session.add(key)
    db.session.flush()
    record_audit(
        "api_key.created", merchant_id=application.merchant_id, user_id=user_id, target=key.id
    )
    db.session.commit()
    warning = provider_accounts.live_mode_warning() if mode == "live" else None
    return NewApiKey(key, secret, warning)


def revoke_api_key(key: ApiKey, *, user_id: str | None = None) -> ApiKey:
    if key.revoked_at is None:
        key.revoke()
        merchant_id = key.application.merchant_id
        record_audit("api_key.revoked", merchant_id=merchant_id, user_id=user_id, target=key.id)
        db.session.commit()
    return key


def authenticate_api_key(secret: str) -> KeyContext:
    """The application and mode of a live key, or 401 (``key_revoked`` when revoked)."""
    if not secret.startswith(("ks_test_", "ks_live_")) or len(secret) > 100:
        raise AuthenticationFailed("Invalid API key")
    row = db.session.execute(_KEY_BY_DIGEST, {"digest": key_digest(secret)}).first()
    if row is None:
        raise AuthenticationFailed("Invalid API key")
    key, application = row
    if key.revoked_at is not None or application.archived_at is not None:
        raise AuthenticationFailed("This API key has been revoked", code="key_revoked")
    _touch(key)
    return KeyContext(key.id, application, key.mode)


# Built once: every payment call looks its key up this way.
_KEY_BY_DIGEST = (
    select(ApiKey, Application)
    .join(Application, Application.id == ApiKey.application_id)
    .where(ApiKey.digest == bindparam("digest"))
)


def _touch(key: ApiKey) -> None:
    """Record use at most once a minute per key: one cheap conditional UPDATE, not per request."""
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_GRANULARITY:
        return
    db.session.execute(
        update(ApiKey)
        .where(
            ApiKey.pk == key.pk,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_GRANULARITY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
