"""The audit log of security-relevant actions: logins, keys, endpoints, the team, settings
(docs/api.md §11). Owners read it (``GET /api/v1/audit_events``, the portal's Audit page)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import AuditEvent, User
from kadosei.services.pagination import Page, paginate, scoped


def record_audit(
    action: str,
    *,
    merchant_id: str | None = None,
    user_id: str | None = None,
    target: str | None = None,
    ip: str | None = None,
    **details,
) -> None:
    """Add an audit row to the current transaction (the caller commits)."""
    db.session.add(
        AuditEvent(
            action=action,
            merchant_id=merchant_id,
            user_id=user_id,
            target=target,
            ip=ip,
            details=details,
        )
    )


@dataclass(frozen=True)
class Actor:
    """Who asked for a change the audit log keeps: a person (the portal, a management token)
    or an application through one of its API keys."""

    user_id: str | None = None
    api_key_id: str | None = None
    application_id: str | None = None
    ip: str | None = None

    @classmethod
    def person(cls, user_id: str, ip: str | None) -> Actor:
        return cls(user_id=user_id, ip=ip)

    @classmethod
    def api_key(cls, api_key_id: str, application_id: str, ip: str | None) -> Actor:
        return cls(api_key_id=api_key_id, application_id=application_id, ip=ip)


def record_by(
    actor: Actor, action: str, *, merchant_id: str, target: str | None = None, **details
) -> None:
    """:func:`record_audit` for what ``actor`` did; an API key's call names the key and its
    application in the details."""
    if actor.api_key_id is not None:
        details = {"api_key": actor.api_key_id, "application": actor.application_id, **details}
    record_audit(
        action,
        merchant_id=merchant_id,
        user_id=actor.user_id,
        target=target,
        ip=actor.ip,
        **details,
    )


def page_audit_events(merchant_id: str, *, limit: int, starting_after: str | None) -> Page:
    """The merchant's audit events, newest first."""
    return paginate(
        scoped(AuditEvent, merchant_id=merchant_id),
        AuditEvent,
        limit=limit,
        starting_after=starting_after,
    )


def actor_emails(merchant_id: str, events: list[AuditEvent]) -> dict[str, str]:
    """The e-mail of each event's user who is still on the merchant's team, by user id."""
    ids = {event.user_id for event in events if event.user_id}
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.email).where(User.id.in_(ids), User.merchant_id == merchant_id)
    )
    return dict(rows.all())
