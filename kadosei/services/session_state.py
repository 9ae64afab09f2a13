"""The session state machine: THE one place a payment session changes status.

``open → processing → succeeded | failed | canceled | expired``; the last four are final.
A ``manual`` capture session goes ``open → (processing →) requires_capture`` when the
provider authorises, then ``succeeded`` (captured), ``canceled`` (voided) or ``expired``
(``services/captures.py``).
A declined attempt of an open session is counted and announced, and ends the session only
when it was the last of ``max_attempts`` (or when the customer gives up after it).
Every change records a ``SessionTransition`` (time and cause) and writes its event in the
caller's transaction. Provider reports go through ``apply_provider_status``: duplicates and
out-of-order reports change nothing, and a success after the session ended is never lost —
it is recorded on the attempt, flagged on the session and announced as a conflict.
Helpers here only flush; the calling use case commits.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from kadosei.extensions import db
from kadosei.models import Attempt, PaymentSession, SessionTransition
from kadosei.models.base import utcnow
from kadosei.providers.base import PROVIDER_STATUSES, PaymentStatus
from kadosei.representation import serialize_session
from kadosei.services import routing
from kadosei.services.events import record_event

log = logging.getLogger("kadosei.payments")

ALLOWED = {
    "open": frozenset(
        {"processing", "requires_capture", "succeeded", "failed", "canceled", "expired"}
    ),
    "processing": frozenset({"requires_capture", "succeeded", "failed", "canceled", "expired"}),
    "requires_capture": frozenset({"succeeded", "canceled", "expired"}),
}
LIVE_ATTEMPT_STATUSES = frozenset({"creating", "pending", "processing"})
FINAL_ATTEMPT_STATUSES = frozenset({"succeeded", "failed", "canceled", "expired", "error"})
# Ended without a payment, yet a provider may authorise it afterwards (``canceled`` is left
# out: kadosei or the provider released that one, so a later authorisation is a replay).
_ENDED_UNPAID = frozenset({"failed", "expired", "error"})
# How far a payment has got at the provider; a report never moves an attempt backwards.
# ``capturing``/``voiding``: kadosei is asking the provider to capture or void the hold.
_ATTEMPT_PROGRESS = {
    "creating": 0,
    "pending": 1,
    "processing": 2,
    "authorized": 3,
    "capturing": 4,
    "voiding": 4,
    # Authorised for a session that ended or holds another attempt: kadosei voids it.
    "unused_hold": 4,
}
# What a provider's status means for the session (pending/expired end nothing by themselves).
_SESSION_STATUS_FOR = {
    "processing": "processing",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}


class IllegalTransition(RuntimeError):
    """A programming error: a caller asked for a move the state machine forbids."""


def touch_session(session_id: str, now: datetime) -> None:
    """Mark a session as looked at by a sweep (commits), so sweeps ordered by ``updated_at``
    give every other session its turn before this one comes round again."""
    db.session.execute(
        update(PaymentSession)
        .where(PaymentSession.id == session_id, PaymentSession.updated_at < now)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def lock_session(session_id: str, *, claim: bool = False) -> PaymentSession | None:
    """Load a session for change, holding its row lock until the caller commits.

    A no-op UPDATE takes the lock on every database (a row lock on PostgreSQL, the write lock
    on SQLite), so two requests racing on one session are serialised. One round trip: the
    UPDATE returns the row as it is once the lock is held, refreshing the session in the
    identity map. ``claim``: a checkout claims the session (counted in the same UPDATE); one
    never claimed before has no attempts, and knows it without a query.
    """
    statement = _LOCK_AND_CLAIM if claim else _LOCK
    found = db.session.scalars(statement, {"session_id": session_id, "now": utcnow()})
    session = found.one_or_none()
    if session is not None and session.checkout_claims == (1 if claim else 0):
        set_committed_value(session, "attempts", [])
    return session


def _lock_statement(**values: Any) -> Update:
    """Built once: every checkout, notification and capture locks a session this way."""
    return (
        update(PaymentSession)
        .where(PaymentSession.id == bindparam("session_id"))
        .values(updated_at=bindparam("now"), **values)
        .returning(PaymentSession)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


_LOCK = _lock_statement()
_LOCK_AND_CLAIM = _lock_statement(checkout_claims=PaymentSession.checkout_claims + 1)


def reload_attempt(attempt_id: str) -> Attempt | None:
    """An attempt as the database has it now — read after its session's lock is taken, so
    nothing another request changed meanwhile is missed, whatever this transaction held."""
    return db.session.scalar(_RELOAD_ATTEMPT, {"attempt_id": attempt_id})


_RELOAD_ATTEMPT = (
    select(Attempt)
    .where(Attempt.id == bindparam("attempt_id"))
    .execution_options(populate_existing=True)
)


def live_attempt(session: PaymentSession) -> Attempt | None:
    """The session's attempt still under way at a provider, if any (there is at most one)."""
    for attempt in reversed(session.attempts):
        if attempt.status in LIVE_ATTEMPT_STATUSES:
            return attempt
    return None


def transition(
    session: PaymentSession,
    to_status: str,
    *,
    cause: str,
    failure_code: str | None = None,
    failure_message: str | None = None,
    amount_captured: int | None = None,
) -> bool:
    """Move ``session`` to ``to_status``, recording why and writing its event.

    A session that succeeds took ``amount_captured`` (default: its whole amount).

    Returns ``False`` (and changes nothing) when the session is already there; raises
    ``IllegalTransition`` for a move the state machine forbids (e.g. out of a final state).
    """
    if session.status == to_status:
        return False
    if to_status not in ALLOWED.get(session.status, frozenset()):
        raise IllegalTransition(f"{session.id}: {session.status} → {to_status} is not allowed")
    now = utcnow()
    db.session.add(
        SessionTransition(
            session_id=session.id,
            from_status=session.status,
            to_status=to_status,
            cause=cause[:200],
            created_at=now,
        )
    )
    session.status = to_status
    if to_status == "failed":
        session.failure_code = (failure_code or "payment_failed")[:60]
        session.failure_message = (failure_message or "The payment failed")[:500]
    if to_status == "succeeded":
        session.amount_captured = session.amount if amount_captured is None else amount_captured
    if session.terminal:
        session.completed_at = now
    _announce(session, f"payment_session.{to_status}")
    return True


def apply_provider_status(
    session: PaymentSession, attempt: Attempt, reported: PaymentStatus, *, cause: str
) -> str:
    """Apply what a provider reports about ``attempt``; returns the effect it had.

    Effects: ``applied`` (the session moved), ``recorded`` (only the attempt moved),
    ``duplicate``, ``out_of_order``, ``ignored_final`` (the session had already ended),
    ``conflict`` (a success after the session ended), ``unused_hold`` (a manual payment
    authorised for a session that ended or holds another: the caller has it voided,
    ``services/late_holds.py``), ``unrecognized``.
    """
    status = reported.status
    if status not in PROVIDER_STATUSES:
        log.warning("attempt %s: unrecognized provider status %r", attempt.id, status)
        return "unrecognized"
    if reported.payment_reference and not attempt.payment_reference:
        attempt.payment_reference = reported.payment_reference[:100]
    if attempt.status == status:
        return "duplicate"
    if attempt.status in FINAL_ATTEMPT_STATUSES:
        if status != "succeeded" and not _authorised_after_all(session, attempt, status):
            return "out_of_order"
    elif _ATTEMPT_PROGRESS.get(status, 99) < _ATTEMPT_PROGRESS[attempt.status]:
        return "out_of_order"
    late_hold = (
        status == "authorized"
        and session.capture_method == "manual"
        and session.status not in ("open", "processing")
    )
    # News of a hold the session does not use changes the attempt only (a success still
    # reaches the session: a capture made at the provider is money to refund, or the payment).
    unused = status != "succeeded" and attempt.status == "unused_hold"
    _record_on_attempt(attempt, reported)
    if late_hold:
        attempt.status = "unused_hold"  # authorised; voided by ``services/late_holds``
        note(session, f"{cause}: {attempt.provider} authorised {attempt.id}, which the "
                      f"{session.status} session does not use; kadosei voids the hold")  # fmt: skip
        return "unused_hold"
    if unused:
        return "recorded"
    return _apply_to_session(session, attempt, reported, cause)


def note(session: PaymentSession, cause: str) -> None:
    """Record on the session's timeline something that happened without changing its status."""
    db.session.add(
        SessionTransition(
            session_id=session.id,
            from_status=session.status,
            to_status=session.status,
            cause=cause[:200],
        )
    )


def _authorised_after_all(session: PaymentSession, attempt: Attempt, status: str) -> bool:
    """A manual payment authorised although its attempt had ended unpaid (declined, say, and
    then paid in the provider's still open checkout): money held like any other hold."""
    return (
        status == "authorized"
        and session.capture_method == "manual"
        and attempt.status in _ENDED_UNPAID
    )


def report_outcome(attempt: Attempt, outcome: str) -> None:
    """ROUTING HOOK: an attempt's outcome became known (``succeeded``, ``failed``, ``error``).

    Called inside the caller's transaction, once per outcome, right after the attempt row
    records it. The learned router learns from it once the transaction commits (and from an
    attempt's first outcome only); it neither commits nor raises.
    """
    routing.report_outcome(attempt, outcome)


def flag_conflict(session: PaymentSession, attempt: Attempt, *, cause: str) -> None:
    """A provider took money for a session that had already ended: flag it for a refund."""
    session.conflict = True
    db.session.add(
        SessionTransition(
            session_id=session.id,
            from_status=session.status,
            to_status=session.status,
            cause=f"conflict: {attempt.provider} reported success for {attempt.id} ({cause})"[:200],
        )
    )
    _announce(session, "payment_session.conflict")


def _record_on_attempt(attempt: Attempt, reported: PaymentStatus) -> None:
    attempt.status = reported.status
    if reported.status in ("failed", "canceled", "expired"):
        attempt.error_code = (reported.failure_code or attempt.error_code or reported.status)[:60]
        if reported.failure_message:
            attempt.error_message = reported.failure_message[:500]
    if reported.status == "failed":
        attempt.retry_elsewhere = reported.retry_elsewhere
    if reported.status in FINAL_ATTEMPT_STATUSES:
        attempt.completed_at = utcnow()
    if reported.status in ("succeeded", "failed"):
        report_outcome(attempt, reported.status)
    elif reported.status == "authorized":  # the provider took the payment (held for capture)
        report_outcome(attempt, "succeeded")


def _apply_to_session(
    session: PaymentSession, attempt: Attempt, reported: PaymentStatus, cause: str
) -> str:
    if session.terminal:
        if reported.status == "succeeded" and _paid_twice_or_late(session, attempt):
            flag_conflict(session, attempt, cause=cause)
            return "conflict"
        return "ignored_final"
    target = _session_status_for(session, reported.status)
    if target is None or target == session.status:
        return "recorded"
    if target not in ALLOWED.get(session.status, frozenset()):
        return "out_of_order"  # e.g. a late ``processing`` for a session awaiting capture
    session.provider = attempt.provider
    if target == "failed":
        _apply_decline(session, attempt, reported, cause)
        return "applied"
    transition(
        session,
        target,
        cause=f"{cause}: {attempt.provider} reported {reported.status} for {attempt.id}",
        failure_code=reported.failure_code,
        failure_message=reported.failure_message,
        amount_captured=reported.amount_captured if session.capture_method == "manual" else None,
    )
    return "applied"


def _session_status_for(session: PaymentSession, provider_status: str) -> str | None:
    """What a provider's status means for this session: an authorisation holds a manual
    session for capture, and means nothing more for an automatic one (its capture follows)."""
    if provider_status == "authorized":
        return "requires_capture" if session.capture_method == "manual" else None
    return _SESSION_STATUS_FOR.get(provider_status)


def _apply_decline(
    session: PaymentSession, attempt: Attempt, reported: PaymentStatus, cause: str
) -> None:
    """Count the declined attempt and announce it; the session stays open while attempts are
    left, else it fails with this decline (a processing session has no customer to retry)."""
    session.attempts_failed = (session.attempts_failed or 0) + 1
    session.last_failure_code = (reported.failure_code or "payment_failed")[:60]
    session.last_failure_message = (reported.failure_message or "The payment failed")[:500]
    session.last_failure_attempt = attempt.id
    _announce(session, "payment_session.attempt_failed")
    why = f"{cause}: {attempt.provider} declined {attempt.id} ({session.last_failure_code})"
    left = session.max_attempts - session.attempts_failed
    if session.status == "open" and left > 0:
        db.session.add(
            SessionTransition(
                session_id=session.id,
                from_status="open",
                to_status="open",
                cause=f"{why}; {left} attempt{'s' if left > 1 else ''} left"[:200],
            )
        )
        return
    transition(
        session,
        "failed",
        cause=why,
        failure_code=session.last_failure_code,
        failure_message=session.last_failure_message,
    )


def give_up_after_decline(session: PaymentSession, *, cause: str) -> bool:
    """The customer returns to the shop after a decline: the session fails with that decline
    as its failure. ``False`` (nothing changes) unless it is open after a decline."""
    if session.status != "open" or session.last_failure_attempt is None:
        return False
    return transition(
        session,
        "failed",
        cause=cause,
        failure_code=session.last_failure_code,
        failure_message=session.last_failure_message,
    )


def _paid_twice_or_late(session: PaymentSession, attempt: Attempt) -> bool:
    """A success on a session that ended unpaid, or a second success on a paid one."""
    if session.status != "succeeded":
        return True
    return any(a.status == "succeeded" and a.id != attempt.id for a in session.attempts)


def session_payload(session: PaymentSession) -> dict:
    """The session exactly as the API returns it: every event's ``data.object``."""
    return serialize_session(session)


def _announce(session: PaymentSession, event_type: str) -> None:
    record_event(
        session.application_id,
        session.mode,
        event_type,
        session_payload(session),
        session_id=session.id,
    )
