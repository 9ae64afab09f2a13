"""JWT access tokens and rotating refresh tokens with reuse detection."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from flask import current_app
from sqlalchemy import select, update

from kadosei.errors import AuthenticationFailed
from kadosei.extensions import db
from kadosei.models import RefreshToken, User
from kadosei.models.base import new_id, utcnow
from kadosei.schemas.limits import REFRESH_TOKEN_MAX
from kadosei.services.audit import record_audit

ALGORITHM = "HS256"
ISSUER = "kadosei"
REFRESH_PREFIX = "rt_"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_access_token(user: User) -> tuple[str, int]:
    ttl = current_app.config["JWT_ACCESS_TTL"]
    now = utcnow()
    claims = {
        "iss": ISSUER,
        "sub": user.id,
        "mer": user.merchant_id,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM), ttl


def decode_access_token(token: str) -> dict:
    """Verified claims; ``401 token_expired`` or ``invalid_credentials`` otherwise."""
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "typ", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("The access token has expired", code="token_expired") from None
    except jwt.PyJWTError:
        raise AuthenticationFailed("The access token is not valid") from None
    if claims.get("typ") != "access":
        raise AuthenticationFailed("The access token is not valid")
    return claims


def _new_refresh(user: User, family_id: str) -> tuple[RefreshToken, str]:
    secret = REFRESH_PREFIX + secrets.token_urlsafe(32)
    ttl = current_app.config["JWT_REFRESH_TTL"]
    row = RefreshToken(
        user_id=user.id,
        family_id=family_id,
        digest=_digest(secret),
        expires_at=utcnow() + timedelta(seconds=ttl),
    )
    db.session.add(row)
    return row, secret


def _pair(user: User, family_id: str) -> TokenPair:
    access, ttl = issue_access_token(user)
    _, refresh = _new_refresh(user, family_id)
    refresh_ttl = current_app.config["JWT_REFRESH_TTL"]
    return TokenPair(access, ttl, refresh, refresh_ttl)


def login_tokens(user: User) -> TokenPair:
    """A fresh token pair starting a new refresh family."""
    pair = _pair(user, new_id("rtf"))
    db.session.commit()
    return pair


def refresh_tokens(token: str, ip: str | None = None) -> TokenPair:
    """Rotate: the presented token is spent; presenting a spent one revokes its family."""
    row = _find_refresh(token)
    now = utcnow()
    if row.revoked_at is not None or row.expires_at <= now:
        raise AuthenticationFailed("The refresh token is not valid")
    # Conditional update: of two concurrent refreshes with one token, exactly one wins.
    spent = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.pk == row.pk, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    user = db.session.scalar(select(User).where(User.id == row.user_id)) if spent else None
    if user is None:
        _revoke_family(row.family_id)
        record_audit("refresh_token.reused", user_id=row.user_id, target=row.family_id, ip=ip)
        db.session.commit()
        raise AuthenticationFailed("The refresh token was already used; its session is revoked")
    pair = _pair(user, row.family_id)
    db.session.commit()
    return pair


def revoke_refresh_token(token: str) -> None:
    """Logout: revoke the token's whole family (idempotent for a known token)."""
    row = _find_refresh(token)
    _revoke_family(row.family_id)
    db.session.commit()


def _find_refresh(token: str) -> RefreshToken:
    if not token.startswith(REFRESH_PREFIX) or len(token) > REFRESH_TOKEN_MAX:
        raise AuthenticationFailed("The refresh token is not valid")
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.digest == _digest(token)))
    if row is None:
        raise AuthenticationFailed("The refresh token is not valid")
    return row


def _revoke_family(family_id: str) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
