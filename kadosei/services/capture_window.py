"""The capture window (docs/api.md §4.2): how long kadosei keeps an authorisation before the
sweep voids it (``KADOSEI_CAPTURE_WINDOW``), and so by when a held session must be captured.
A leaf: the representation and the portal read the deadline, ``captures`` enforces it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from kadosei.extensions import db
from kadosei.models import PaymentSession, SessionTransition


def capture_window() -> timedelta:
    return timedelta(seconds=current_app.config["KADOSEI_CAPTURE_WINDOW"])


def capture_deadline(session: PaymentSession) -> datetime | None:
    """When the hold of a ``requires_capture`` session is voided if not captured (naive UTC):
    the window after the session was authorised. None for a session in any other status."""
    return capture_deadlines([session]).get(session.id)


def capture_deadlines(sessions: list[PaymentSession]) -> dict[str, datetime]:
    """``capture_deadline`` of each ``requires_capture`` session among ``sessions``, by id
    (one query for a whole page of them)."""
    held = [s.id for s in sessions if s.status == "requires_capture"]
    if not held:
        return {}
    rows = db.session.execute(
        select(SessionTransition.session_id, func.max(SessionTransition.created_at))
        .where(
            SessionTransition.session_id.in_(held),
            SessionTransition.to_status == "requires_capture",
        )
        .group_by(SessionTransition.session_id)
    ).all()
    window = capture_window()
    return {session_id: held_since + window for session_id, held_since in rows}
