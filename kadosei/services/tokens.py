"""JWT access tokens and rotating refresh tokens with reuse detection.

An access token names its refresh family (``fam``): logging out or revoking the family (a
reused refresh token) ends the access tokens issued in it too, and so does removing the user.
Checked on management calls only; the payment API authenticates with API keys.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from flask import current_app
from sqlalchemy import exists, select, update

from kadosei.errors import AuthenticationFailed, missing
from kadosei.extensions import db
from kadosei.models import Merchant, RefreshToken, User
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


def issue_access_token(user: User, family_id: str) -> tuple[str, int]:
    ttl = current_app.config["JWT_ACCESS_TTL"]
    now = utcnow()
    claims = {
        "iss": ISSUER,
        "sub": user.id,
        "mer": user.merchant_id,
        "fam": family_id,
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
            options={"require": ["exp", "iat", "sub", "jti", "typ", "iss", "fam"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("The access token has expired", code="token_expired") from None
    except jwt.PyJWTError:
        raise AuthenticationFailed("The access token is not valid") from None
    if claims.get("typ") != "access" or not all(
        isinstance(claims[name], str) for name in ("sub", "fam")
    ):
        raise AuthenticationFailed("The access token is not valid")
    return claims


def authenticate_access_token(token: str) -> tuple[User, Merchant]:
    """The user and merchant of a valid access token whose refresh family is still live.

    One indexed query: the user exists, the family is theirs, and no token of it is revoked.
    """
    claims = decode_access_token(token)
    family = RefreshToken.family_id == claims["fam"]
    owned = exists().where(family, RefreshToken.user_id == User.id)
    revoked = exists().where(family, RefreshToken.revoked_at.is_not(None))
    row = db.session.execute(
        select(User, Merchant)
        .join(Merchant, Merchant.id == User.merchant_id)
        .where(User.id == claims["sub"], owned, ~revoked)
    ).first()
    if row is None:
        raise AuthenticationFailed("The access token is not valid")
    return row.User, row.Merchant


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
    access, ttl = issue_access_token(user, family_id)
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


def log_out(refresh_token: str | None = None, access_token: str | None = None) -> None:
    """Logout: revoke the refresh token's whole family and the presented access token's, so
    neither the refresh tokens nor the access tokens issued in them work any more (idempotent
    for known tokens). An access token that is not valid is ignored beside a refresh token and
    refused (401) alone; with neither, ``refresh_token`` is missing."""
    families: set[str] = set()
    if refresh_token is None and access_token is None:
        raise missing("refresh_token")
    if refresh_token is not None:
        families.add(_find_refresh(refresh_token).family_id)
    if access_token is not None:
        try:
            families.add(decode_access_token(access_token)["fam"])
        except AuthenticationFailed:
            if not families:
                raise
    for family_id in sorted(families):
        _revoke_family(family_id)
    db.session.commit()


def revoke_user_tokens(user_id: str) -> None:
    """Every refresh family of ``user_id`` ends, and so every access token issued in them
    (password change or reset, log out everywhere). Flushes only: the caller commits."""
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


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
