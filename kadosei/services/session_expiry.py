"""Ending sessions that were not paid: ending the provider-side checkout first, expiry by time;
and ending a declined attempt's checkout when the customer tries again.

A provider-side checkout is ended before the session is (so a customer cannot pay a session
that is already canceled or expired); a provider that says the customer is paying keeps the
session open. No row lock is held while a provider is called.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import Retry
from sqlalchemy import select

from kadosei.extensions import db
from kadosei.jobs.queue import enqueue
from kadosei.models import Attempt, PaymentSession
from kadosei.models.base import utcnow
from kadosei.providers.base import PaymentUnderWay, ProviderError
from kadosei.services.late_holds import release_unused_hold_later
from kadosei.services.provider_choice import get_provider
from kadosei.services.session_state import (
    apply_provider_status,
    live_attempt,
    lock_session,
    note,
    reload_attempt,
    touch_session,
    transition,
)

log = logging.getLogger("kadosei.payments")

SWEEP_BATCH = 200
# A checkout still being created after this long was abandoned by a crashed request.
CREATING_ABANDONED_AFTER = timedelta(minutes=2)
_END_DECLINED_JOB = "kadosei.services.session_expiry.end_declined_checkout"
# A provider that does not answer is asked again a few times; after that its checkout lapses
# at the session's expiry (what is paid there meanwhile is flagged conflict, or voided).
END_DECLINED_RETRY = Retry(max=3, interval=[5, 30, 120])


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
    attempt = reload_attempt(attempt_id)
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


def end_declined_checkout_later(session_id: str, attempt_id: str) -> None:
    """The customer tries again after ``attempt_id`` was declined: have a worker end that
    attempt's checkout if its provider keeps it payable (Stripe). A job, so the customer's
    redirect to the new attempt never waits on it; the queue being away costs its short
    timeout and the checkout then lapses at the session's expiry."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id))
    provider = get_provider(attempt.provider) if attempt is not None else None
    if (
        provider is not None
        and provider.ends_declined_checkout
        and attempt.session_id == session_id
        and attempt.status == "failed"
        and attempt.provider_reference
    ):
        enqueue(_END_DECLINED_JOB, session_id, attempt_id, retry=END_DECLINED_RETRY)
    db.session.commit()  # no transaction is held while the caller calls the next provider


def end_declined_checkout(session_id: str, attempt_id: str) -> str:
    """The job: end a declined attempt's still open checkout at its provider, so the customer
    cannot pay a second time there. What came of it: ``ended``, ``nothing_to_do``, ``paying``
    (the customer is paying there: its outcome is applied when reported) or ``reported`` (it
    was paid after all: applied as any report). ``ProviderError`` (the job is retried) when
    the provider does not answer."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id))
    ready = attempt is not None and attempt.session_id == session_id and attempt.status == "failed"
    provider = get_provider(attempt.provider) if ready else None
    reference = attempt.provider_reference if ready else None
    db.session.commit()
    if provider is None or not provider.ends_declined_checkout or not reference:
        return "nothing_to_do"
    try:
        reported = provider.expire_checkout(reference)
    except PaymentUnderWay:
        log.info("declined attempt %s: the customer is paying on its checkout; left", attempt_id)
        return "paying"
    session = lock_session(session_id)
    attempt = db.session.scalar(
        select(Attempt).where(Attempt.id == attempt_id).execution_options(populate_existing=True)
    )
    if reported.status in ("expired", "canceled", "failed"):
        note(session, f"ended {attempt.provider}'s checkout of the declined {attempt.id}: "
                      "the customer tries again")  # fmt: skip
        db.session.commit()
        return "ended"
    effect = apply_provider_status(
        session, attempt, reported, cause="answer to ending a declined checkout"
    )
    db.session.commit()
    if effect == "unused_hold":
        release_unused_hold_later(attempt_id)
    return "reported"
