"""Holds no session uses (docs/api.md §4.2): voided at the provider, never left on a card.

A manual-capture authorisation can arrive after its session ended (canceled, expired, failed,
paid through another attempt) or while the session holds another attempt's. The state machine
records it (attempt ``unused_hold``, a note on the session's timeline, effect ``unused_hold``);
this module voids it: at once by a job after the notification, and by a sweep for whatever a
provider left unanswered. A hold its session uses is never touched here (``captures`` voids
that one): only ``unused_hold`` attempts are. The void is idempotent at the provider (one key
per attempt), so a job and a sweep meeting on one hold do no harm; the provider is called
with no lock held, and a success reported meanwhile still flags the session ``conflict``.
"""

from __future__ import annotations

import logging

from sqlalchemy import or_, select

from kadosei.extensions import db
from kadosei.jobs.queue import enqueue
from kadosei.models import Attempt
from kadosei.models.base import utcnow
from kadosei.providers.base import (
    OperationUnsupported,
    PaymentStatus,
    ProviderBadRequest,
    ProviderError,
)
from kadosei.services.provider_choice import get_provider
from kadosei.services.session_state import (
    apply_provider_status,
    lock_session,
    note,
    reload_attempt,
)

log = logging.getLogger("kadosei.payments")

SWEEP_BATCH = 100
# Set on an attempt whose provider refused the void: the sweep stops asking (the timeline
# tells an operator to release it in the provider's dashboard).
VOID_REFUSED = "void_refused"
# What a provider may answer to an accepted void (Adyen confirms later, by notification).
_VOID_ACCEPTED = frozenset({"canceled", "expired", "authorized"})
_JOB = "kadosei.services.late_holds.release_unused_hold"


def release_unused_hold_later(attempt_id: str) -> None:
    """Have a worker void the attempt's unused hold (call after the commit that recorded it);
    if the queue is away the sweep does it."""
    enqueue(_JOB, attempt_id)


def release_unused_hold(attempt_id: str) -> str:
    """Void one ``unused_hold`` attempt's authorisation at its provider. What came of it:
    ``voided``, ``nothing_to_do``, ``unavailable`` (the provider did not answer: the sweep
    asks again) or ``refused`` (recorded on the timeline; not asked again)."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id))
    due = attempt is not None and attempt.status == "unused_hold"
    if not due or attempt.error_code == VOID_REFUSED:
        db.session.commit()
        return "nothing_to_do"
    provider = get_provider(attempt.provider)
    session_id, reference = (
        attempt.session_id,
        attempt.payment_reference or attempt.provider_reference,
    )
    db.session.commit()
    if provider is None or not reference:
        log.warning("unused hold %s: provider %s not configured", attempt_id, attempt.provider)
        return "unavailable"
    try:
        reported = provider.void(reference, idempotency_key=f"kadosei-void-{attempt_id}")
    except (ProviderBadRequest, OperationUnsupported) as exc:
        _record_refusal(session_id, attempt_id, exc)
        return "refused"
    except ProviderError as exc:
        log.warning("unused hold %s not voided yet: %s (%s)", attempt_id, exc, exc.code)
        _touch(attempt_id)
        return "unavailable"
    return _record_void(session_id, attempt_id, reported)


def release_unused_holds(batch: int = SWEEP_BATCH) -> int:
    """The periodic job: void the unused holds a provider left unanswered (the least recently
    tried first). Returns how many were voided."""
    due = db.session.scalars(
        select(Attempt.id)
        .where(
            Attempt.status == "unused_hold",
            or_(Attempt.error_code.is_(None), Attempt.error_code != VOID_REFUSED),
        )
        .order_by(Attempt.updated_at)
        .limit(batch)
    ).all()
    db.session.commit()
    return sum(release_unused_hold(attempt_id) == "voided" for attempt_id in due)


def _record_void(session_id: str, attempt_id: str, reported: PaymentStatus) -> str:
    session = lock_session(session_id)
    attempt = reload_attempt(attempt_id)
    if attempt.status != "unused_hold":  # the provider's notification of it came first
        db.session.commit()
        return "voided" if attempt.status in ("canceled", "expired") else "nothing_to_do"
    if reported.status not in _VOID_ACCEPTED:  # captured (or failed) meanwhile
        apply_provider_status(session, attempt, reported, cause="answer to a void of a late hold")
        db.session.commit()
        return "nothing_to_do"
    attempt.status = "canceled"
    attempt.error_code = "voided"
    attempt.completed_at = utcnow()
    note(session, f"voided at {attempt.provider}: the unused hold of {attempt.id}")
    db.session.commit()
    return "voided"


def _record_refusal(session_id: str, attempt_id: str, exc: ProviderError) -> None:
    log.warning("unused hold %s: the provider refused the void: %s", attempt_id, exc)
    session = lock_session(session_id)
    attempt = reload_attempt(attempt_id)
    if attempt.status == "unused_hold":
        attempt.error_code = VOID_REFUSED
        note(session, f"{attempt.provider} refused to void the unused hold of {attempt.id}: "
                      "release it in the provider's dashboard")  # fmt: skip
    db.session.commit()


def _touch(attempt_id: str) -> None:
    """The provider did not answer: this hold goes to the back of the sweep's line."""
    attempt = reload_attempt(attempt_id)
    attempt.updated_at = utcnow()
    db.session.commit()
