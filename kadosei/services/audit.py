"""The audit log of security-relevant actions: logins, keys, endpoints, the team, settings
(docs/api.md §11). Owners read it (``GET /api/v1/audit_events``, the portal's Audit page)."""

from __future__ import annotations

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
    return dict(rows.tuples().all())
