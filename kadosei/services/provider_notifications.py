"""Reading the provider notifications recorded for a session (the portal's detail page)."""

from __future__ import annotations

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import PaymentSession, ProviderNotification


def for_session(session: PaymentSession) -> list[ProviderNotification]:
    """Every notification about one of the session's attempts, oldest first."""
    attempt_ids = [attempt.id for attempt in session.attempts]
    if not attempt_ids:
        return []
    query = (
        select(ProviderNotification)
        .where(ProviderNotification.attempt_id.in_(attempt_ids))
        .order_by(ProviderNotification.pk)
    )
    return list(db.session.scalars(query))
