"""Merchants and users: sign-up, password checks, look-ups."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
from kadosei.schemas.requests import PasswordChange, Signup
from kadosei.services import two_factor
from kadosei.services.audit import record_audit
from kadosei.services.tokens import revoke_user_tokens

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


@dataclass(frozen=True)
class FirstFactor:
    """A password that matched: the log-in is ``complete``, or waits for a second factor."""

    user: User
    complete: bool


def begin_login(email: str, password: str, ip: str | None = None) -> FirstFactor:
    """Check the password; a user without two-factor is then logged in (audited), one with it
    needs :func:`finish_login`. ``401 invalid_credentials`` for wrong credentials."""
    user = _check_credentials(email, password, ip)
    if user.two_factor_enabled:
        db.session.commit()  # a rehashed password
        return FirstFactor(user, complete=False)
    _record_login(user, ip)
    return FirstFactor(user, complete=True)


def finish_login(user: User, code: str, ip: str | None = None) -> User:
    """The second step: a code from the authenticator app, or an unused recovery code.
    ``401 otp_invalid`` (audited as a failed log-in) otherwise."""
    if not two_factor.accept_code(user, code):
        record_audit(
            "login.failed", merchant_id=user.merchant_id, user_id=user.id, ip=ip, factor="otp"
        )
        db.session.commit()
        raise two_factor.wrong_code("otp")
    _record_login(user, ip)
    return user


def authenticate(email: str, password: str, ip: str | None = None, otp: str | None = None) -> User:
    """The user for these credentials (the management API's log-in, in one call).

    Wrong credentials are ``401 invalid_credentials`` either way; an account with two-factor on
    answers ``401 otp_required`` without ``otp`` and ``401 otp_invalid`` for a wrong one.
    """
    first = begin_login(email, password, ip)
    if first.complete:
        return first.user
    if otp is None:
        raise AuthenticationFailed(
            "This account has two-factor authentication on: send otp, a code from the "
            "authenticator app or a recovery code",
            code="otp_required",
            param="otp",
        )
    return finish_login(first.user, otp, ip)


def _check_credentials(email: str, password: str, ip: str | None) -> User:
    """The user whose password this is; an unknown e-mail costs the same password hash as a
    known one, so timing tells nothing."""
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
    return user


def _record_login(user: User, ip: str | None) -> None:
    user.last_login_at = utcnow()
    record_audit("login.succeeded", merchant_id=user.merchant_id, user_id=user.id, ip=ip)
    db.session.commit()


def password_matches(user: User, password: str) -> bool:
    """Whether ``password`` is ``user``'s (for changes that ask for it again)."""
    if len(password) > LOGIN_PASSWORD_MAX:
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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


def log_out_everywhere(user: User, ip: str | None = None) -> None:
    """Every portal session and every API token of ``user`` ends."""
    user.end_all_sessions()
    revoke_user_tokens(user.id)
    record_audit("logout.everywhere", merchant_id=user.merchant_id, user_id=user.id, ip=ip)
    db.session.commit()


def change_password(user: User, change: PasswordChange, ip: str | None = None) -> None:
    """A new password, given the current one; every other session and every API token ends
    (the caller signs its own session in again). ``401`` for a wrong current password."""
    if not password_matches(user, change.current_password):
        record_audit("password.change_failed", merchant_id=user.merchant_id, user_id=user.id, ip=ip)
        db.session.commit()
        raise AuthenticationFailed("The current password is not right", param="current_password")
    set_password(user, change.new_password)
    record_audit("password.changed", merchant_id=user.merchant_id, user_id=user.id, ip=ip)
    db.session.commit()


def set_password(user: User, password: str) -> None:
    """Store a new password; the user's sessions and tokens end. Flushes only."""
    user.password_hash = hash_password(password)
    user.end_all_sessions()
    revoke_user_tokens(user.id)


def disable_two_factor(user: User, password: str, code: str, ip: str | None = None) -> None:
    """Turn two-factor off, given the password and a current code (or a recovery code)."""
    if not password_matches(user, password):
        record_audit(
            "two_factor.disable_failed", merchant_id=user.merchant_id, user_id=user.id, ip=ip
        )
        db.session.commit()
        raise AuthenticationFailed("The password is not right", param="password")
    if not two_factor.accept_code(user, code):
        record_audit(
            "two_factor.disable_failed", merchant_id=user.merchant_id, user_id=user.id, ip=ip
        )
        db.session.commit()
        raise two_factor.wrong_code("code")
    two_factor.turn_off(user, ip)
    db.session.commit()
