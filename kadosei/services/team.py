"""A merchant's team (docs/api.md §11): invitations, roles, removal; a merchant always keeps
at least one owner. Who may call these is decided by ``kadosei.permissions``, not here."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from kadosei.errors import NotFound, Unprocessable, not_found
from kadosei.extensions import db
from kadosei.jobs.queue import enqueue
from kadosei.mail import Mail, send_mail
from kadosei.models import Invitation, Merchant, RecoveryCode, RefreshToken, User
from kadosei.models.base import utcnow
from kadosei.schemas.requests import InvitationAccept, InvitationCreate
from kadosei.services.accounts import find_user_by_email, hash_password
from kadosei.services.audit import record_audit
from kadosei.services.checkout_links import public_base_url
from kadosei.services.password_reset import MAIL_RETRY

INVITATION_TTL = timedelta(days=7)
# Rows that belong to a user and go with them when they are removed: every model with a foreign
# key to ``users.id`` (tests/team checks that this list names them all).
OWNED_BY_USER = (RefreshToken, RecoveryCode)
TOKEN_MAX = 100  # a token longer than any we issue is not looked up


@dataclass(frozen=True)
class Team:
    users: list[User]
    invitations: list[Invitation]


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    accept_url: str


class InvitationUnusable(Unprocessable):
    """The link was used, withdrawn or has expired: nothing to accept."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def accept_url(token: str) -> str:
    return f"{public_base_url()}/invitations/{quote(token, safe='')}"


def invitation_status(invitation: Invitation) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.withdrawn_at is not None:
        return "withdrawn"
    return "pending" if invitation.expires_at > utcnow() else "expired"


def list_team(merchant_id: str) -> Team:
    """The merchant's users (oldest first) and its pending invitations (newest first)."""
    users = db.session.scalars(
        select(User).where(User.merchant_id == merchant_id).order_by(User.pk)
    )
    invitations = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.merchant_id == merchant_id,
            Invitation.accepted_at.is_(None),
            Invitation.withdrawn_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.pk.desc())
    )
    return Team(list(users), list(invitations))


def get_team_user(merchant_id: str, user_id: str) -> User:
    user = db.session.scalar(
        select(User).where(User.id == user_id, User.merchant_id == merchant_id)
    )
    if user is None:
        raise not_found("user", user_id)
    return user


def get_invitation(merchant_id: str, invitation_id: str) -> Invitation:
    invitation = db.session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.merchant_id == merchant_id
        )
    )
    if invitation is None:
        raise not_found("invitation", invitation_id)
    return invitation


def invite(
    merchant_id: str, fields: InvitationCreate, *, user_id: str, ip: str | None = None
) -> NewInvitation:
    """A single-use invitation link for ``fields.email`` with ``fields.role``, valid 7 days;
    the link is returned here only (the database keeps its digest)."""
    member = find_user_by_email(fields.email)
    if member is not None and member.merchant_id == merchant_id:
        raise Unprocessable(
            "This person is already on your team", param="email", code="already_a_member"
        )
    pending = db.session.scalar(
        select(Invitation.id).where(
            Invitation.merchant_id == merchant_id,
            func.lower(Invitation.email) == fields.email.lower(),
            Invitation.accepted_at.is_(None),
            Invitation.withdrawn_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    )
    if pending is not None:
        raise Unprocessable(
            f"An invitation to this address is pending ({pending}); withdraw it to send another",
            param="email",
            code="invitation_pending",
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        merchant_id=merchant_id,
        email=fields.email.lower(),
        role=fields.role,
        token_digest=_digest(token),
        invited_by=user_id,
        expires_at=utcnow() + INVITATION_TTL,
    )
    db.session.add(invitation)
    db.session.flush()
    record_audit(
        "team.invitation_created",
        merchant_id=merchant_id,
        user_id=user_id,
        target=invitation.id,
        ip=ip,
        email=invitation.email,
        role=invitation.role,
    )
    db.session.commit()
    link = accept_url(token)
    mail_invitation(invitation, link)
    return NewInvitation(invitation, link)


def mail_invitation(invitation: Invitation, link: str) -> None:
    """E-mail the invitation's link to ``invitation.email`` (by the jobs worker, after the
    commit; without SMTP the mail goes to the log). The inviter has the link either way."""
    enqueue("kadosei.services.team.send_invitation_mail", invitation.id, link, retry=MAIL_RETRY)


def send_invitation_mail(invitation_id: str, link: str) -> None:
    """The job: mail the link, unless the invitation was withdrawn or accepted meanwhile."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == invitation_id))
    if invitation is None or invitation.accepted_at or invitation.withdrawn_at:
        return
    merchant = db.session.scalar(select(Merchant).where(Merchant.id == invitation.merchant_id))
    shop = merchant.name if merchant else "a kadosei merchant"
    days = INVITATION_TTL.days
    text = (
        f"You are invited to join {shop} on kadosei as {invitation.role}.\n\n"
        f"Accept here (the link works once, for {days} days):\n\n{link}\n\n"
        "If you did not expect this, ignore this mail.\n"
    )
    send_mail(Mail(to=invitation.email, subject=f"Join {shop} on kadosei", text=text))


def withdraw_invitation(
    merchant_id: str, invitation_id: str, *, user_id: str, ip: str | None = None
) -> Invitation:
    """The link stops working at once (withdrawing twice is harmless)."""
    invitation = get_invitation(merchant_id, invitation_id)
    if invitation.accepted_at is not None:
        raise Unprocessable(
            "This invitation was accepted; remove the user instead", code="invitation_accepted"
        )
    if invitation.withdrawn_at is None:
        invitation.withdrawn_at = utcnow()
        record_audit(
            "team.invitation_withdrawn",
            merchant_id=merchant_id,
            user_id=user_id,
            target=invitation.id,
            ip=ip,
            email=invitation.email,
        )
        db.session.commit()
    return invitation


def find_invitation_by_token(token: str) -> Invitation:
    """The invitation a link names, if it can still be accepted; else 404 (no such link) or
    422 ``invitation_used`` / ``invitation_withdrawn`` / ``invitation_expired``."""
    invitation = None
    if 0 < len(token) <= TOKEN_MAX and token.isprintable():
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.token_digest == _digest(token))
        )
    if invitation is None:
        raise NotFound("This invitation link is not valid", code="invitation_missing")
    status = invitation_status(invitation)
    if status == "accepted":
        raise InvitationUnusable("This invitation was already used", code="invitation_used")
    if status == "withdrawn":
        raise InvitationUnusable("This invitation was withdrawn", code="invitation_withdrawn")
    if status == "expired":
        raise InvitationUnusable("This invitation has expired", code="invitation_expired")
    return invitation


def accept_invitation(token: str, fields: InvitationAccept, ip: str | None = None) -> User:
    """Join the team: a user with the invitation's e-mail and role, the name and password
    given. Exactly one of two concurrent acceptances wins; the link never works again."""
    invitation = find_invitation_by_token(token)
    if find_user_by_email(invitation.email) is not None:
        raise Unprocessable(
            "This e-mail address already has a kadosei account (an address belongs to one "
            "merchant). Ask for an invitation to another address.",
            code="email_taken",
        )
    password_hash = hash_password(fields.password)
    now = utcnow()
    claimed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.pk == invitation.pk,
            Invitation.accepted_at.is_(None),
            Invitation.withdrawn_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise InvitationUnusable("This invitation was already used", code="invitation_used")
    user = User(
        merchant_id=invitation.merchant_id,
        email=invitation.email,
        name=fields.name,
        password_hash=password_hash,
        role=invitation.role,
        last_login_at=now,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the address got an account meanwhile
        db.session.rollback()
        raise Unprocessable(
            "This e-mail address already has a kadosei account", code="email_taken"
        ) from None
    db.session.execute(
        update(Invitation).where(Invitation.pk == invitation.pk).values(accepted_user_id=user.id)
    )
    record_audit(
        "team.invitation_accepted",
        merchant_id=invitation.merchant_id,
        user_id=user.id,
        target=invitation.id,
        ip=ip,
        role=user.role,
    )
    db.session.commit()
    return user


def change_role(
    merchant_id: str, target_id: str, role: str, *, user_id: str, ip: str | None = None
) -> User:
    """Takes effect on the user's next request; the last owner keeps their role."""
    _lock_team(merchant_id)
    member = get_team_user(merchant_id, target_id)
    previous = member.role
    if previous == role:
        db.session.rollback()
        return member
    member.role = role
    _keep_an_owner(merchant_id)
    record_audit(
        "team.role_changed",
        merchant_id=merchant_id,
        user_id=user_id,
        target=member.id,
        ip=ip,
        email=member.email,
        **{"from": previous, "to": role},
    )
    db.session.commit()
    return member


def remove_user(merchant_id: str, target_id: str, *, user_id: str, ip: str | None = None) -> str:
    """The user is gone: their access tokens (their refresh families go with them) and portal
    sessions stop working at once. The last owner cannot be removed."""
    _lock_team(merchant_id)
    member = get_team_user(merchant_id, target_id)
    removed_id, email = member.id, member.email
    for model in OWNED_BY_USER:
        db.session.execute(delete(model).where(model.user_id == removed_id))
    db.session.delete(member)
    _keep_an_owner(merchant_id)
    record_audit(
        "team.user_removed",
        merchant_id=merchant_id,
        user_id=user_id,
        target=removed_id,
        ip=ip,
        email=email,
    )
    db.session.commit()
    return removed_id


def _lock_team(merchant_id: str) -> None:
    """Serialise team changes per merchant (PostgreSQL row lock; SQLite writes are serial),
    so two owners demoting each other at once cannot leave none."""
    db.session.execute(select(Merchant.pk).where(Merchant.id == merchant_id).with_for_update())


def _keep_an_owner(merchant_id: str) -> None:
    """Counted after the change is written (and so holds SQLite's write lock too): a change
    that leaves no owner is rolled back."""
    db.session.flush()
    owners = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.merchant_id == merchant_id, User.role == "owner")
    )
    if owners == 0:
        db.session.rollback()
        raise Unprocessable(
            "A merchant keeps at least one owner: make someone else an owner first",
            code="last_owner",
        )
