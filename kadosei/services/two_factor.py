"""Two-factor authentication with TOTP (RFC 6238) and single-use recovery codes.

A user turns it on in two steps (a new secret, then a code from the app that proves it was
saved) and gets recovery codes, kept as digests. The secret is kept encrypted
(``kadosei.encryption``, through the column's type). A code is accepted once: the time step of the
last accepted code is stored, and a code of that step or an earlier one is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm.attributes import flag_modified

from kadosei.errors import AuthenticationFailed, Unprocessable
from kadosei.extensions import db
from kadosei.models import RecoveryCode, User
from kadosei.models.base import utcnow
from kadosei.schemas.limits import OTP_MAX
from kadosei.services.audit import record_audit

RECOVERY_CODE_COUNT = 10
# Codes of the previous and the next 30-second step count too (clocks drift, people type).
VALID_WINDOW = 1


@dataclass(frozen=True)
class Enrolment:
    """What an authenticator app needs: the secret, and the same as an ``otpauth://`` URI."""

    secret: str
    uri: str


def start_enrolment(user: User) -> Enrolment:
    """A new secret, waiting for its first code (:func:`confirm_enrolment`)."""
    if user.two_factor_enabled:
        raise Unprocessable(
            "Two-factor authentication is already on", code="two_factor_already_enabled"
        )
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.commit()
    return pending_enrolment(user)


def pending_enrolment(user: User) -> Enrolment | None:
    """The secret started and not yet confirmed, if any."""
    if user.totp_secret is None or user.two_factor_enabled:
        return None
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["TWO_FACTOR_ISSUER"]
    )
    return Enrolment(user.totp_secret, uri)


def confirm_enrolment(user: User, code: str, ip: str | None = None) -> list[str]:
    """Turn two-factor on with a first code from the app; the new recovery codes, shown once."""
    if pending_enrolment(user) is None:
        raise Unprocessable(
            "Start setting up two-factor authentication first", code="two_factor_not_started"
        )
    if not _accept_totp(user, _digits(code)):
        raise AuthenticationFailed("That code is not right", code="otp_invalid", param="code")
    user.totp_enabled_at = utcnow()
    codes = _replace_recovery_codes(user)
    record_audit("two_factor.enabled", merchant_id=user.merchant_id, user_id=user.id, ip=ip)
    db.session.commit()
    return codes


def accept_code(user: User, code: str) -> bool:
    """Whether ``code`` (an app's code or an unused recovery code) lets ``user`` in; it is spent
    either way it matches. Flushes only: the caller commits."""
    if not user.two_factor_enabled or not isinstance(code, str) or len(code) > OTP_MAX:
        return False
    digits = _digits(code)
    if len(digits) == 6 and digits.isascii() and digits.isdigit():
        return _accept_totp(user, digits)
    return _use_recovery_code(user, code)


def regenerate_recovery_codes(user: User, code: str, ip: str | None = None) -> list[str]:
    """Ten new recovery codes in place of the old ones, given a current code (or one of the
    old recovery codes); shown once."""
    if not user.two_factor_enabled:
        raise Unprocessable("Two-factor authentication is off", code="two_factor_not_enabled")
    if not accept_code(user, code):
        raise wrong_code("otp")
    codes = _replace_recovery_codes(user)
    record_audit(
        "two_factor.recovery_codes_replaced", merchant_id=user.merchant_id, user_id=user.id, ip=ip
    )
    db.session.commit()
    return codes


def wrong_code(param: str) -> AuthenticationFailed:
    """``401 otp_invalid``: the code given for ``param`` did not let the user in."""
    return AuthenticationFailed(
        "The two-factor code is not right (or was already used)", code="otp_invalid", param=param
    )


def turn_off(user: User, ip: str | None = None) -> None:
    """Forget the secret and the recovery codes (the caller checked password and code)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record_audit("two_factor.disabled", merchant_id=user.merchant_id, user_id=user.id, ip=ip)


def reencrypt_secrets() -> int:
    """Write every stored TOTP secret again, so it is encrypted under the first configured key
    (``flask rotate-encryption``, after a new key was put first); how many there were."""
    users = db.session.scalars(select(User).where(User.totp_secret.is_not(None))).all()
    for user in users:
        flag_modified(user, "totp_secret")
    db.session.commit()
    return len(users)


def unused_recovery_codes(user: User) -> int:
    """How many recovery codes ``user`` has left."""
    left = select(func.count()).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return db.session.scalar(left) or 0


def _digits(code: str) -> str:
    return "".join(code.split())


def _accept_totp(user: User, code: str) -> bool:
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = totp.timecode(datetime.now(UTC))
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # Conditional update: the same code (or an older one) never counts twice, even
            # when two requests carry it at once.
            claimed = db.session.execute(
                update(User)
                .where(
                    User.pk == user.pk,
                    or_(User.totp_last_step.is_(None), User.totp_last_step < step),
                )
                .values(totp_last_step=step)
            ).rowcount
            return claimed == 1
    return False


def _canonical_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _recovery_digest(user: User, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{user.id}:{_canonical_recovery_code(code)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, digest=_recovery_digest(user, code)))
    return codes


def _use_recovery_code(user: User, code: str) -> bool:
    if not _canonical_recovery_code(code):
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.digest == _recovery_digest(user, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    ).rowcount
    if spent:
        record_audit("two_factor.recovery_code_used", merchant_id=user.merchant_id, user_id=user.id)
    return spent == 1
