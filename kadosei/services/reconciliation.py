"""Reconciliation: ask providers about payments whose outcome should have arrived by now.

A session with a checkout at a provider (``processing``, or ``open`` with a live attempt)
waits for the provider, which normally notifies; if that notification never comes (the
provider gave up, a deploy dropped it, the customer paid and closed the tab), this sweep asks
the provider itself, so money is never left unaccounted for. Each checked session is touched,
so a batch of sessions the provider cannot answer for never starves the others.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import Attempt, PaymentSession
from kadosei.models.base import utcnow
from kadosei.services.attempts import confirm_with_provider
from kadosei.services.session_state import LIVE_ATTEMPT_STATUSES, touch_session

log = logging.getLogger("kadosei.payments")

QUIET_FOR = timedelta(minutes=10)
BATCH = 100


def reconcile_quiet_sessions() -> int:
    """Confirm with the provider every session with a live attempt quiet for ``QUIET_FOR``."""
    now = utcnow()
    rows = db.session.execute(
        select(PaymentSession.id, Attempt.id)
        .join(Attempt, Attempt.session_id == PaymentSession.id)
        .where(
            PaymentSession.status.in_(("open", "processing")),
            PaymentSession.updated_at < now - QUIET_FOR,
            Attempt.provider_reference.is_not(None),
            Attempt.status.in_(LIVE_ATTEMPT_STATUSES),
        )
        .order_by(PaymentSession.updated_at)
        .limit(BATCH)
    ).all()
    db.session.commit()
    for session_id, attempt_id in rows:
        confirm_with_provider(session_id, attempt_id, cause="reconciliation with the provider")
        touch_session(session_id, now)
    if rows:
        log.info("reconciled %d quiet sessions with their providers", len(rows))
    return len(rows)
