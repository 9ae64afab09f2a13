"""Merchants and users: sign-up, password checks, look-ups."""

from __future__ import annotations

import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kadosei.errors import AuthenticationFailed, invalid
from kadosei.extensions import db
from kadosei.models import Merchant, User
from kadosei.models.base import utcnow
from kadosei.schemas.limits import EMAIL_MAX, LOGIN_PASSWORD_MAX
from kadosei.schemas.requests import Signup
from kadosei.services.audit import record_audit

log = logging.getLogger(__name__)

# Verified against when the e-mail is unknown, so both paths take the same time.
_DUMMY_HASH: dict[tuple, str] = {}


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_merchant(signup: Signup, ip: str | None = None) -> tuple[Merchant, User]:
    """A merchant and its owner user, in one commit (the operator's CLI: a taken address is
    said plainly; the portal's sign-up uses :func:`sign_up`, which says nothing)."""
    address = signup.email.lower()
    if find_user_by_email(address) is not None:
        raise invalid("email", "An account with this e-mail already exists")
    merchant, user = _add_merchant(signup.name, address, hash_password(signup.password), ip)
    db.session.commit()
    return merchant, user


def sign_up(signup: Signup, ip: str | None = None) -> None:
    """Self-service sign-up that, like log-in, never tells whether an address has an account.

    A new address gets a merchant and its owner. A taken one gets nothing new, costs the same
    password hash, and is audited on the existing account (where a product with mail would
    tell its owner); in development a log line says so. The caller answers both alike.
    """
    address = signup.email.lower()
    password_hash = hash_password(signup.password)
    existing = find_user_by_email(address)
    if existing is None:
        try:
            _add_merchant(signup.name, address, password_hash, ip)
            db.session.commit()
            return
        except IntegrityError:  # a concurrent sign-up took the address first
            db.session.rollback()
            existing = find_user_by_email(address)
            if existing is None:
                raise
    record_audit(
        "signup.address_taken", merchant_id=existing.merchant_id, user_id=existing.id, ip=ip
    )
    db.session.commit()
    if current_app.config["KADOSEI_ENV"] == "development":
        log.warning("sign-up for %s: that address already has an account; nothing created", address)


def _add_merchant(name: str, address: str, password_hash: str, ip: str | None):
    merchant = Merchant(name=name)
    db.session.add(merchant)
    db.session.flush()
    user = User(merchant_id=merchant.id, email=address, password_hash=password_hash)
    db.session.add(user)
    db.session.flush()
    record_audit("merchant.signup", merchant_id=merchant.id, user_id=user.id, ip=ip)
    return merchant, user


def authenticate(email: str, password: str, ip: str | None = None) -> User:
    """The user for these credentials, or ``401 invalid_credentials`` either way.

    An unknown e-mail costs the same password hash as a known one, so timing tells nothing.
    """
    address, secret = email, password
    user = find_user_by_email(address) if _plausible_email(address) else None
    hasher = _hasher()
    try:
        if user is None or len(secret) > LOGIN_PASSWORD_MAX:
            hasher.verify(_dummy_hash(hasher), secret[:LOGIN_PASSWORD_MAX] + "\x00")
            raise VerificationError  # the dummy hash never verifies; this is for the reader
        hasher.verify(user.password_hash, secret)
    except (VerificationError, InvalidHashError):
        user_id = user.id if user else None
        merchant_id = user.merchant_id if user else None
        record_audit("login.failed", merchant_id=merchant_id, user_id=user_id, ip=ip)
        db.session.commit()
        raise AuthenticationFailed("Invalid e-mail or password") from None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(secret)
    user.last_login_at = utcnow()
    record_audit("login.succeeded", merchant_id=user.merchant_id, user_id=user.id, ip=ip)
    db.session.commit()
    return user


def _plausible_email(address: str) -> bool:
    """Worth a look-up: not overlong and free of NUL (which PostgreSQL text cannot hold)."""
    return len(address) <= EMAIL_MAX and "\x00" not in address


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hasher.hash("kadosei-timing-equaliser")
    return _DUMMY_HASH[key]


def set_operator(user: User, value: bool) -> None:
    """Grant or revoke platform-operator rights (CLI only), audited."""
    user.is_operator = value
    action = "operator.granted" if value else "operator.revoked"
    record_audit(action, merchant_id=user.merchant_id, user_id=user.id, target=user.id)
    db.session.commit()


def may_operate(user: User) -> bool:
    """Platform-wide settings: operators, or anyone on a single-user development install."""
    return bool(user.is_operator or current_app.config["KADOSEI_OPEN_OPERATOR_PAGES"])


def end_portal_sessions(user: User) -> None:
    """Log out: every portal session of ``user`` stops working, even a copied cookie."""
    user.end_all_sessions()
    record_audit("logout", merchant_id=user.merchant_id, user_id=user.id)
    db.session.commit()
