"""Attempts: starting a session's checkout at a provider (with failover) and confirming, when
the customer comes back, what the provider says (docs/api.md §5).

A session never has two live attempts: the attempt is claimed (``creating``) under the
session's row lock, then the provider is called without any lock held. After a declined
attempt the session waits on kadosei's checkout page until the customer asks to try again
(a new attempt, routed afresh) or returns to the shop (the session fails).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, case, select, update

from kadosei.errors import not_found
from kadosei.extensions import db
from kadosei.metrics import ROUTING_DECISIONS
from kadosei.models import Attempt, PaymentSession
from kadosei.models.base import utcnow
from kadosei.providers.base import CheckoutRequest, CheckoutResult, Provider, ProviderError
from kadosei.services.checkout_links import (
    checkout_url,
    notification_url,
    return_url,
    with_session_id,
)
from kadosei.services.provider_choice import get_provider, rank_providers
from kadosei.services.session_expiry import (
    CREATING_ABANDONED_AFTER,
    end_declined_checkout_later,
    end_live_attempt,
    expire_session_if_due,
)
from kadosei.services.session_state import (
    FINAL_ATTEMPT_STATUSES,
    LIVE_ATTEMPT_STATUSES,
    apply_provider_status,
    give_up_after_decline,
    live_attempt,
    lock_session,
    reload_attempt,
    report_outcome,
)
from kadosei.services.shop import shop_name

log = logging.getLogger("kadosei.payments")

SUCCESS_SIDE = frozenset({"succeeded", "processing", "pending", "creating", "open"})


@dataclass(frozen=True)
class CheckoutStep:
    """What the customer's browser should see next.

    ``redirect`` (to ``url``, a provider's hosted page), ``preparing`` (another request is
    creating the checkout right now), ``unavailable`` (every provider failed; still open),
    ``declined`` (the last attempt, ``attempt``, was declined: try again or give up),
    ``processing`` or ``ended`` (the session's outcome; ``url`` sends the customer on).
    """

    kind: str
    session: PaymentSession
    url: str | None = None
    attempt: Attempt | None = None


@dataclass(frozen=True)
class _Claim:
    session: PaymentSession
    attempt_id: str
    provider: Provider
    request: CheckoutRequest


def get_session(session_id: str) -> PaymentSession:
    session = db.session.scalar(select(PaymentSession).where(PaymentSession.id == session_id))
    if session is None:
        raise not_found("payment_session", session_id)
    return session


def begin_checkout(session_id: str, *, retry_after: str | None = None) -> CheckoutStep:
    """``GET /checkout/{id}``: the hosted page of the live attempt, or a new one (failover).

    After a declined attempt a new one starts only for the customer's "Try again" about that
    very attempt (``retry_after``): a repeated or stale submission starts nothing more.
    """
    tried: list[str] = []
    while True:
        claim = _claim_attempt(session_id, tried, retry_after)
        if isinstance(claim, CheckoutStep):
            return claim
        if retry_after is not None and not tried:  # a retry starts: end the declined checkout
            end_declined_checkout_later(session_id, retry_after)
        tried.append(claim.provider.name)
        ROUTING_DECISIONS.labels(claim.provider.name, claim.request.mode).inc()
        started = time.monotonic()
        try:
            result = claim.provider.create_checkout(claim.request)
        except ProviderError as exc:
            _record_error(claim.attempt_id, exc.code, str(exc), _elapsed_ms(started))
            continue
        except Exception as exc:  # an adapter bug must not cost the customer the payment
            log.exception("provider %s failed to create a checkout", claim.provider.name)
            _record_error(
                claim.attempt_id, "adapter_error", type(exc).__name__, _elapsed_ms(started)
            )
            continue
        return _record_created(claim, result, _elapsed_ms(started))


def confirm_return(
    session_id: str, attempt_id: str | None, returned: Mapping[str, str] | None = None
) -> str:
    """The customer is back from the provider: confirm with it, then where to send them.
    ``returned``: the return URL's query, which only the provider's adapter reads."""
    session = get_session(session_id)
    attempt = _returning_attempt(session, attempt_id)
    if attempt is not None and attempt.status in LIVE_ATTEMPT_STATUSES:
        confirm_with_provider(session_id, attempt.id, cause="customer returned", returned=returned)
        session = get_session(session_id)
        attempt = _returning_attempt(session, attempt.id)
    return destination(session, attempt)


def return_to_shop(session_id: str) -> str:
    """The customer gives up after a decline: the session fails (its failure: the last decline)
    and they go to ``cancel_url``. Anything else (a payment under way in another tab, an ended
    session) leaves the session as it is and sends them where it stands."""
    session = get_session(session_id)
    if session.status == "open" and session.expires_at <= utcnow():
        expire_session_if_due(session_id)
    session = lock_session(session_id)
    if live_attempt(session) is None:
        give_up_after_decline(session, cause="the customer returned to the shop after a decline")
    db.session.commit()
    if session.terminal:
        return destination(session, None)
    return checkout_url(session.id)


def destination(session: PaymentSession, attempt: Attempt | None) -> str:
    """``success_url`` when paid, authorised (awaiting capture), paying or still pending;
    ``cancel_url`` when it ended unpaid; kadosei's own checkout page after a decline that left
    attempts to try again."""
    if session.status == "open" and attempt is not None and attempt.status == "failed":
        return checkout_url(session.id)
    if session.status == "requires_capture":
        paid_side = True
    elif session.terminal:
        paid_side = session.status == "succeeded"
    else:
        paid_side = session.status == "processing" or (
            attempt is not None and attempt.status in SUCCESS_SIDE
        )
    url = session.success_url if paid_side else session.cancel_url
    return with_session_id(url, session.id)


def _claim_attempt(
    session_id: str, tried: list[str], retry_after: str | None
) -> _Claim | CheckoutStep:
    """Under the session's lock: reuse the live attempt, or claim a new one at the next
    provider not yet tried by this request (committed before the provider is called).
    A session past its expiry is expired first (without the lock: that may ask a provider)."""
    session = lock_session(session_id, claim=True)
    if session is None:
        db.session.rollback()
        raise not_found("payment_session", session_id)
    if session.status == "open" and session.expires_at <= utcnow():
        db.session.commit()
        expire_session_if_due(session_id)
        session = lock_session(session_id)
    claim = _step_without_new_attempt(session, retry_after) or _new_attempt(session, tried)
    db.session.commit()
    return claim


def _new_attempt(session: PaymentSession, tried: list[str]) -> _Claim | CheckoutStep:
    ranked = [(p, why) for p, why in rank_providers(session) if p.name not in tried]
    if not ranked:
        return CheckoutStep("unavailable", session)
    provider, explanation = ranked[0]
    if tried:
        explanation = {**explanation, "failover_after": list(tried)}
    attempt = Attempt(
        session_id=session.id, provider=provider.name, status="creating", explanation=explanation
    )
    db.session.add(attempt)
    db.session.flush()
    return _Claim(session, attempt.id, provider, _checkout_request(session, attempt))


def _step_without_new_attempt(
    session: PaymentSession, retry_after: str | None
) -> CheckoutStep | None:
    if session.status == "processing":
        return CheckoutStep("processing", session, destination(session, None))
    if session.terminal or session.status == "requires_capture":
        return CheckoutStep("ended", session, destination(session, None))
    attempt = live_attempt(session)
    if attempt is None:
        declined = last_declined_attempt(session)
        if declined is not None and declined.id != retry_after:
            return CheckoutStep("declined", session, attempt=declined)
        return None
    if attempt.hosted_url:
        return CheckoutStep("redirect", session, attempt.hosted_url)
    if attempt.created_at >= utcnow() - CREATING_ABANDONED_AFTER:
        return CheckoutStep("preparing", session)
    attempt.status = "error"
    attempt.error_code = "abandoned"
    attempt.error_message = "The checkout was never created (the request did not finish)"
    attempt.completed_at = utcnow()
    return None


def last_declined_attempt(session: PaymentSession) -> Attempt | None:
    """The session's latest attempt if it was declined (the customer has not retried since)."""
    latest = session.attempts[-1] if session.attempts else None
    return latest if latest is not None and latest.status == "failed" else None


def _checkout_request(session: PaymentSession, attempt: Attempt) -> CheckoutRequest:
    return CheckoutRequest(
        attempt_id=attempt.id,
        session_id=session.id,
        mode=session.mode,
        amount=session.amount,
        currency=session.currency,
        payment_method=session.payment_method,
        return_url=return_url(session.id, attempt.id),
        reference=session.reference,
        description=session.description,
        customer_email=session.customer_email,
        shop_name=shop_name(session.merchant_id),
        expires_at=session.expires_at,
        notification_url=notification_url(attempt.provider),
        capture_method=session.capture_method,
    )


def _record_error(attempt_id: str, code: str, message: str, duration_ms: int) -> None:
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id))
    attempt.status = "error"
    attempt.error_code = code[:60]
    attempt.error_message = (message or code)[:500]
    attempt.duration_ms = duration_ms
    attempt.completed_at = utcnow()
    report_outcome(attempt, "error")
    db.session.commit()


def _record_created(claim: _Claim, result: CheckoutResult, duration_ms: int) -> CheckoutStep:
    """The provider made the checkout: record it on the attempt, under the session's lock,
    in two statements that also tell whether anything ended the session or the attempt
    meanwhile (a cancel, the expiry) — the checkout is hot, so no object is loaded for it."""
    session_id = claim.request.session_id
    connection = db.session.connection()
    session_status = connection.execute(
        _RECORD_PROVIDER,
        {"session_id": session_id, "provider": claim.provider.name, "now": utcnow()},
    ).scalar_one()
    attempt_status = connection.execute(
        _RECORD_CHECKOUT,
        {
            "attempt_id": claim.attempt_id,
            "reference": result.provider_reference,
            "url": result.hosted_url,
            "duration_ms": duration_ms,
            "now": utcnow(),
        },
    ).scalar_one()
    db.session.commit()
    if session_status == "open" and attempt_status in LIVE_ATTEMPT_STATUSES:
        return CheckoutStep("redirect", claim.session, result.hosted_url)
    # The session ended (canceled, expired) while the checkout was being created: end it too.
    try:
        end_live_attempt(session_id, cause="session ended while the checkout was created")
    except ProviderError as exc:
        log.warning("could not end checkout of attempt %s: %s", claim.attempt_id, exc)
        db.session.rollback()
    session = get_session(session_id)
    return CheckoutStep("ended", session, destination(session, None))


# Built once (a checkout's own time is mostly its statements): the session's lock, taken
# with the provider that made the checkout, and the attempt's checkout, pending unless
# something ended it meanwhile.
_SESSIONS, _ATTEMPTS = PaymentSession.__table__, Attempt.__table__
_RECORD_PROVIDER = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("session_id"))
    .values(provider=bindparam("provider"), updated_at=bindparam("now"))
    .returning(_SESSIONS.c.status)
)
_RECORD_CHECKOUT = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(
        provider_reference=bindparam("reference"),
        hosted_url=bindparam("url"),
        duration_ms=bindparam("duration_ms"),
        updated_at=bindparam("now"),
        status=case((_ATTEMPTS.c.status == "creating", "pending"), else_=_ATTEMPTS.c.status),
    )
    .returning(_ATTEMPTS.c.status)
)


def _returning_attempt(session: PaymentSession, attempt_id: str | None) -> Attempt | None:
    """The attempt named in the return URL if it is this session's, else its latest one."""
    for attempt in session.attempts:
        if attempt.id == attempt_id:
            return attempt
    started = [a for a in session.attempts if a.provider_reference]
    return started[-1] if started else None


def confirm_with_provider(
    session_id: str, attempt_id: str, *, cause: str, returned: Mapping[str, str] | None = None
) -> None:
    """Ask the provider what became of the attempt and apply it (never trusting anyone else);
    ``returned``: the customer's return query, when they came back (see ``status_on_return``)."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id))
    provider = get_provider(attempt.provider)
    reference = attempt.provider_reference
    db.session.commit()
    if provider is None or reference is None:
        return
    try:
        if returned is None:
            reported = provider.get_status(reference)
        else:
            reported = provider.status_on_return(reference, returned)
    except ProviderError as exc:
        log.warning("status look-up for %s at %s failed: %s", attempt_id, provider.name, exc)
        return
    session = lock_session(session_id)
    attempt = reload_attempt(attempt_id)
    if attempt.status not in FINAL_ATTEMPT_STATUSES or reported.status == "succeeded":
        apply_provider_status(session, attempt, reported, cause=cause)
    db.session.commit()


def _elapsed_ms(started: float) -> int:
    """Milliseconds since ``started``, to the nearest (a 1.9 ms call is 2, not 1)."""
    return round((time.monotonic() - started) * 1000)
