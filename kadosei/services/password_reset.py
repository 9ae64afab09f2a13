"""Forgotten passwords: a signed, short-lived, single-use link by mail, then a new password.

A link names the user and a fingerprint of the password hash it was issued for: once the
password changes (this link or any other way) every earlier link stops working, so no table of
issued links is needed. Asking for a link looks the same whether or not the address has an
account: the request only queues a job, and the job finds the user and sends the mail.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from rq import Retry
from sqlalchemy import select

from kadosei.errors import InvalidRequest
from kadosei.extensions import db
from kadosei.jobs.queue import enqueue
from kadosei.mail import Mail, send_mail
from kadosei.models import User
from kadosei.schemas.limits import EMAIL_MAX
from kadosei.schemas.requests import NewPassword
from kadosei.services.accounts import find_user_by_email, set_password
from kadosei.services.audit import record_audit
from kadosei.services.checkout_links import public_base_url

log = logging.getLogger(__name__)

SALT = "kadosei.password-reset"
TOKEN_MAX = 400
RESET_PATH = "/password/reset/"
# A mail server that is briefly away gets a few more tries.
MAIL_RETRY = Retry(max=3, interval=[10, 60, 300])


def request_password_reset(email: str, ip: str | None = None) -> None:
    """Queue the reset mail for ``email``; the caller answers alike whether or not it has an
    account (no look-up happens here, so the timing tells nothing either)."""
    address = email.strip().lower()
    if not address or len(address) > EMAIL_MAX or "\x00" in address:
        return
    enqueue(
        "kadosei.services.password_reset.send_password_reset_mail", address, ip, retry=MAIL_RETRY
    )


def send_password_reset_mail(email: str, ip: str | None = None) -> None:
    """The job: mail a reset link to the account of ``email``, if there is one."""
    user = find_user_by_email(email)
    if user is None:
        log.info("password reset asked for an address without an account; nothing sent")
        return
    record_audit("password_reset.requested", merchant_id=user.merchant_id, user_id=user.id, ip=ip)
    db.session.commit()
    minutes = current_app.config["PASSWORD_RESET_TTL"] // 60
    text = (
        "Someone (we hope you) asked to reset the password of your kadosei account.\n\n"
        f"Choose a new password here (the link works once, for {minutes} minutes):\n\n"
        f"{reset_link(user)}\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n"
    )
    send_mail(Mail(to=user.email, subject="Reset your kadosei password", text=text))


def reset_link(user: User) -> str:
    return f"{public_base_url()}{RESET_PATH}{_serializer().dumps([user.id, _fingerprint(user)])}"


def user_for_reset(token: str) -> User:
    """The user a reset link is for; ``400 reset_link_expired`` or ``reset_link_invalid``
    (tampered with, or already used: the password changed since it was issued)."""
    if len(token) > TOKEN_MAX:
        raise _invalid_link()
    try:
        user_id, fingerprint = _serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_TTL"]
        )
    except SignatureExpired:
        raise InvalidRequest(
            "This password-reset link has expired: ask for a new one", code="reset_link_expired"
        ) from None
    except (BadSignature, TypeError, ValueError):
        raise _invalid_link() from None
    if not isinstance(user_id, str) or not isinstance(fingerprint, str):
        raise _invalid_link()
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None or not hmac.compare_digest(fingerprint, _fingerprint(user)):
        raise _invalid_link()
    return user


def reset_password(token: str, new: NewPassword, ip: str | None = None) -> User:
    """Set the password a valid link allows; the link, every session and every API token of
    the user end. Two-factor, when on, still guards the next log-in."""
    user = user_for_reset(token)
    set_password(user, new.password)
    record_audit("password.reset", merchant_id=user.merchant_id, user_id=user.id, ip=ip)
    db.session.commit()
    return user


def _invalid_link() -> InvalidRequest:
    return InvalidRequest(
        "This password-reset link is not valid or was already used: ask for a new one",
        code="reset_link_invalid",
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]
