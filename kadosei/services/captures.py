"""Capture later (docs/api.md §4.2): capture or void a ``requires_capture`` session's
authorisation at its provider, and the capture window that voids what was never captured.

The hold is claimed first, under the session's row lock: its attempt goes ``authorized →
capturing | voiding`` and commits, so of two captures (or a capture and a void) only one ever
reaches the provider; the loser is told the session is not capturable. The provider is then
called with no lock held, and its answer applied under the lock again. A provider that fails
leaves everything as it was (the claim is released): ``503 provider_unavailable``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from kadosei.errors import KadoseiError, ProviderUnavailable, Unprocessable
from kadosei.extensions import db
from kadosei.models import Attempt, PaymentSession, SessionTransition
from kadosei.models.base import utcnow
from kadosei.providers.base import (
    OperationUnsupported,
    PaymentStatus,
    Provider,
    ProviderBadRequest,
    ProviderError,
)
from kadosei.services import idempotency
from kadosei.services.audit import Actor, record_by
from kadosei.services.capture_window import capture_window
from kadosei.services.idempotency import StoredResponse
from kadosei.services.provider_choice import get_provider
from kadosei.services.session_state import (
    apply_provider_status,
    flag_conflict,
    lock_session,
    session_payload,
    touch_session,
    transition,
)

log = logging.getLogger("kadosei.payments")

# A claim older than this was left by a request that crashed mid-call; another may take it.
CLAIM_ABANDONED_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 100
# What a provider may answer to an accepted capture or void (some confirm later, by
# notification: the payment still reads ``authorized`` right after).
_CAPTURE_ACCEPTED = frozenset({"succeeded", "authorized", "processing"})
_VOID_ACCEPTED = frozenset({"canceled", "expired", "authorized"})


@dataclass(frozen=True)
class IdempotencyScope:
    """Where to keep the successful answer of a request that came with an Idempotency-Key."""

    application_id: str
    mode: str
    key: str


@dataclass(frozen=True)
class _Hold:
    session_id: str
    attempt_id: str
    provider: Provider
    reference: str
    amount: int
    currency: str


def capture_session(
    session_id: str,
    amount: int | None,
    *,
    by: str,
    actor: Actor,
    scope: IdempotencyScope | None = None,
) -> StoredResponse:
    """Capture ``amount`` (default: all) of the session's authorisation, releasing the rest:
    ``requires_capture → succeeded`` with ``amount_captured``. ``by`` says who asked (for the
    session's timeline), ``actor`` the same for the audit log. 422 ``session_not_capturable``
    / ``amount_exceeds_authorized``; 503 when the provider cannot confirm (nothing changed)."""
    hold = _claim(session_id, "capturing", amount=amount)
    key = f"kadosei-capture-{hold.attempt_id}-{hold.amount}"
    try:
        reported = hold.provider.capture(
            hold.reference, hold.amount, hold.currency, idempotency_key=key
        )
    except ProviderError as exc:
        _release(hold)
        raise _refused(exc, "capture", "session_not_capturable") from None
    return _finish_capture(hold, reported, by=by, actor=actor, scope=scope)


def void_session(
    session_id: str,
    *,
    cause: str,
    actor: Actor | None,
    to_status: str = "canceled",
    scope: IdempotencyScope | None = None,
) -> StoredResponse:
    """Release the session's authorisation at the provider: ``requires_capture →
    canceled`` (or ``expired`` for the capture window). ``actor`` is who asked, for the audit
    log (``None``: kadosei itself, the capture window). 422 ``session_not_cancelable``; 503
    when the provider cannot confirm (nothing changed)."""
    hold = _claim(session_id, "voiding")
    try:
        reported = hold.provider.void(
            hold.reference, idempotency_key=f"kadosei-void-{hold.attempt_id}"
        )
    except ProviderError as exc:
        _release(hold)
        raise _refused(exc, "void", "session_not_cancelable") from None
    return _finish_void(hold, reported, cause=cause, actor=actor, to_status=to_status, scope=scope)


def void_expired_authorisations(batch: int = SWEEP_BATCH) -> int:
    """The periodic job: void authorisations held longer than ``KADOSEI_CAPTURE_WINDOW`` and
    end their sessions ``expired``. A provider that does not answer is asked again next time."""
    now = utcnow()
    due = _held_since(now - capture_window(), batch)
    expired = 0
    for session_id in due:
        try:
            void_session(
                session_id,
                cause="capture window passed: voided by kadosei",
                actor=None,
                to_status="expired",
            )
            expired += 1
        except KadoseiError as exc:
            db.session.rollback()
            log.warning("session %s: authorisation not voided yet (%s)", session_id, exc.message)
            touch_session(session_id, now)
    return expired


# -- the claim -----------------------------------------------------------------------------


def _claim(session_id: str, doing: str, *, amount: int | None = None) -> _Hold:
    """Under the session's lock: check it can be captured (voided) and mark its held attempt
    ``doing`` (committed), so no second request reaches the provider for it."""
    session = lock_session(session_id)
    refusal = _refusal(session, doing, amount)
    attempt = _held_attempt(session) if refusal is None else None
    provider = get_provider(attempt.provider) if attempt is not None else None
    if refusal is None and attempt is None:
        refusal = _not_possible(doing, "a capture or void of this session is already under way")
    if refusal is None and provider is None:
        refusal = ProviderUnavailable(f"The provider {attempt.provider} is not configured")
    if refusal is not None:
        db.session.commit()
        raise refusal
    attempt.status = doing
    attempt.updated_at = utcnow()
    hold = _Hold(
        session_id=session.id,
        attempt_id=attempt.id,
        provider=provider,
        reference=attempt.payment_reference or attempt.provider_reference or "",
        amount=session.amount if amount is None else amount,
        currency=session.currency,
    )
    db.session.commit()
    return hold


def _refusal(session: PaymentSession | None, doing: str, amount: int | None) -> KadoseiError | None:
    if session is None or session.status != "requires_capture":
        status = session.status if session is not None else "gone"
        return _not_possible(doing, f"only a requires_capture session can be; this one is {status}")
    if amount is not None and amount > session.amount:
        return Unprocessable(
            f"amount {amount} exceeds the {session.amount} authorised",
            code="amount_exceeds_authorized",
            param="amount",
        )
    return None


def _not_possible(doing: str, why: str) -> Unprocessable:
    if doing == "capturing":
        return Unprocessable(
            f"This session cannot be captured: {why}", code="session_not_capturable"
        )
    return Unprocessable(f"This session cannot be canceled: {why}", code="session_not_cancelable")


def _held_attempt(session: PaymentSession) -> Attempt | None:
    """The attempt holding the authorisation, unless a capture or void of it is under way (a
    claim left by a crashed request is taken over once it is old)."""
    stale = utcnow() - CLAIM_ABANDONED_AFTER
    for attempt in reversed(session.attempts):
        if attempt.status == "authorized":
            return attempt
        if attempt.status in ("capturing", "voiding"):
            return attempt if attempt.updated_at < stale else None
    return None


def _release(hold: _Hold) -> None:
    """The provider failed: the hold is ``authorized`` again, nothing else changed (commits)."""
    db.session.rollback()
    lock_session(hold.session_id)
    attempt = _attempt(hold.attempt_id)
    if attempt.status in ("capturing", "voiding"):
        attempt.status = "authorized"
    db.session.commit()


def _refused(exc: ProviderError, what: str, code: str) -> KadoseiError:
    log.warning("%s at %s failed: %s", what, exc.code, exc)
    if isinstance(exc, ProviderBadRequest | OperationUnsupported):
        return Unprocessable(f"The provider refused the {what}; nothing changed", code=code)
    return ProviderUnavailable(f"The provider could not confirm the {what}; nothing changed, retry")


# -- applying the provider's answer --------------------------------------------------------


def _finish_capture(
    hold: _Hold,
    reported: PaymentStatus,
    *,
    by: str,
    actor: Actor,
    scope: IdempotencyScope | None,
) -> StoredResponse:
    session = lock_session(hold.session_id)
    attempt = _attempt(hold.attempt_id)
    if reported.status not in _CAPTURE_ACCEPTED:  # the hold is gone (voided, lapsed)
        attempt.status = "authorized"
        apply_provider_status(session, attempt, reported, cause="answer to a capture")
        db.session.commit()
        raise _not_possible("capturing", f"the provider reports the payment {reported.status}")
    captured = hold.amount
    if reported.status == "succeeded" and reported.amount_captured:
        captured = reported.amount_captured
    _end_attempt(attempt, "succeeded")
    cause = f"captured {captured} of {session.amount} {session.currency} ({by})"
    if session.status == "requires_capture":
        transition(session, "succeeded", cause=cause, amount_captured=captured)
    elif session.status == "succeeded":  # the provider's notification of it came first
        session.amount_captured = captured
    elif session.terminal:  # taken although the session ended meanwhile: refund it
        flag_conflict(session, attempt, cause=cause)
    record_by(
        actor,
        "payment_session.captured",
        merchant_id=session.merchant_id,
        target=session.id,
        amount=captured,
        currency=session.currency,
        authorized=session.amount,
        mode=session.mode,
    )
    return _answer(session, scope)


def _finish_void(
    hold: _Hold,
    reported: PaymentStatus,
    *,
    cause: str,
    actor: Actor | None,
    to_status: str,
    scope: IdempotencyScope | None,
) -> StoredResponse:
    session = lock_session(hold.session_id)
    attempt = _attempt(hold.attempt_id)
    if reported.status not in _VOID_ACCEPTED:  # captured (or failed) meanwhile
        attempt.status = "authorized"
        apply_provider_status(session, attempt, reported, cause="answer to a void")
        db.session.commit()
        raise _not_possible("voiding", f"the provider reports the payment {reported.status}")
    _end_attempt(attempt, "canceled")
    attempt.error_code = attempt.error_code or "voided"
    if session.status == "requires_capture":
        transition(session, to_status, cause=cause)
    if actor is not None:
        record_by(
            actor,
            "payment_session.voided",
            merchant_id=session.merchant_id,
            target=session.id,
            amount=session.amount,
            currency=session.currency,
            mode=session.mode,
        )
    return _answer(session, scope)


def _end_attempt(attempt: Attempt, status: str) -> None:
    attempt.status = status
    attempt.completed_at = utcnow()


def _answer(session: PaymentSession, scope: IdempotencyScope | None) -> StoredResponse:
    response = StoredResponse(200, session_payload(session))
    if scope is not None:
        idempotency.complete(scope.application_id, scope.mode, scope.key, response)
    db.session.commit()
    return response


def _attempt(attempt_id: str) -> Attempt:
    query = select(Attempt).where(Attempt.id == attempt_id)
    return db.session.scalar(query.execution_options(populate_existing=True))


def _held_since(before: datetime, batch: int) -> list[str]:
    """``requires_capture`` sessions authorised before ``before``, least recently looked at
    first (a sweep that could not void one touches it, giving the others their turn)."""
    ids = db.session.scalars(
        select(PaymentSession.id)
        .join(SessionTransition, SessionTransition.session_id == PaymentSession.id)
        .where(
            PaymentSession.status == "requires_capture",
            SessionTransition.to_status == "requires_capture",
            SessionTransition.created_at <= before,
        )
        .order_by(PaymentSession.updated_at)
        .limit(batch)
    ).all()
    db.session.commit()
    return list(ids)
