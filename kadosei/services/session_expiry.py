"""Ending sessions that were not paid: ending the provider-side checkout first, expiry by time.

A provider-side checkout is ended before the session is (so a customer cannot pay a session
that is already canceled or expired); a provider that says the customer is paying keeps the
session open. No row lock is held while a provider is called.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import Attempt, PaymentSession
from kadosei.models.base import utcnow
from kadosei.providers.base import PaymentUnderWay, ProviderError
from kadosei.services.provider_choice import get_provider
from kadosei.services.session_state import (
    apply_provider_status,
    live_attempt,
    lock_session,
    touch_session,
    transition,
)

log = logging.getLogger("kadosei.payments")

SWEEP_BATCH = 200
# A checkout still being created after this long was abandoned by a crashed request.
CREATING_ABANDONED_AFTER = timedelta(minutes=2)


def end_live_attempt(session_id: str, *, cause: str) -> None:
    """End the session's live provider-side checkout, if any, and record what the provider says.

    Commits. Raises ``PaymentUnderWay`` when the customer is already paying and
    ``ProviderError`` when the provider cannot be reached; the session is left as it was.
    """
    session = lock_session(session_id)
    attempt = live_attempt(session) if session is not None else None
    reference = attempt.provider_reference if attempt is not None else None
    if attempt is not None and reference is None:
        _abandon_if_stale(attempt)
    attempt_id, provider_name = (attempt.id, attempt.provider) if attempt else (None, None)
    db.session.commit()
    if reference is None:
        return  # nothing at a provider yet; a checkout being created checks the session after
    provider = get_provider(provider_name)
    if provider is None:
        raise ProviderError(f"provider {provider_name} is not configured")
    reported = provider.expire_checkout(reference)
    session = lock_session(session_id)
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id))
    apply_provider_status(session, attempt, reported, cause=cause)
    db.session.commit()


def expire_session_if_due(session_id: str) -> bool:
    """Expire one open session past ``expires_at``; ``False`` if it stays as it is."""
    session = db.session.scalar(select(PaymentSession).where(PaymentSession.id == session_id))
    if session is None or session.status != "open" or session.expires_at > utcnow():
        return False
    try:
        end_live_attempt(session_id, cause="expiry")
    except PaymentUnderWay:
        db.session.rollback()
        log.info("session %s is past expiry but a payment is under way: left open", session_id)
        return False
    except ProviderError as exc:
        log.warning(
            "session %s: provider did not confirm the end (%s); retry later", session_id, exc
        )
        db.session.rollback()
        return False
    session = lock_session(session_id)
    if session.status != "open":
        db.session.commit()
        return False
    transition(session, "expired", cause="expired: past expires_at, not paid")
    db.session.commit()
    return True


def expire_due_sessions(batch: int = SWEEP_BATCH) -> int:
    """The periodic job: expire open sessions past ``expires_at`` (never processing ones)."""
    now = utcnow()
    due = db.session.scalars(
        select(PaymentSession.id)
        .where(PaymentSession.status == "open", PaymentSession.expires_at <= now)
        .order_by(PaymentSession.updated_at)
        .limit(batch)
    ).all()
    db.session.commit()
    expired = 0
    for session_id in due:
        if expire_session_if_due(session_id):
            expired += 1
        else:  # left open (payment under way, provider away): let the others have a turn
            touch_session(session_id, now)
    return expired


def _abandon_if_stale(attempt: Attempt) -> None:
    if attempt.status == "creating" and attempt.created_at < utcnow() - CREATING_ABANDONED_AFTER:
        attempt.status = "error"
        attempt.error_code = "abandoned"
        attempt.error_message = "The checkout was never created (the request did not finish)"
        attempt.completed_at = utcnow()
