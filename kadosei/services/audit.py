"""The audit log of security-relevant actions (logins, keys, endpoints)."""

from __future__ import annotations

from kadosei.extensions import db
from kadosei.models import AuditEvent


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
