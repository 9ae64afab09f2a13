"""Refunds (docs/api.md §4.3): create (with ``Idempotency-Key``), read and list. The API and
the portal call these same functions.

A refund is made in two steps, so that no lock is held while a provider is asked:

1. under the session's row lock, what is still refundable is worked out and the refund is
   reserved (``pending``, no provider reference yet) and committed. A concurrent refund of
   the same session waits for the lock and then counts the reservation, so refunds never add
   up to more than the provider took;
2. the provider that took the money is asked, under the refund's id as its idempotency key,
   and its answer is recorded with the ``refund.created`` event and an audit row saying who
   asked (a person, or an application's API key).

If the provider refuses or fails (any ``ProviderError`` but a timeout), the reservation is
deleted: nothing is written and the caller gets ``503 provider_unavailable``. If it does not
answer in time it may still have refunded, so the refund stays ``pending`` and the sweep
(``refund_confirmation``) sends it again under the same id until the provider answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select

from kadosei.errors import ProviderUnavailable, Unprocessable, not_found
from kadosei.extensions import db
from kadosei.models import Application, Attempt, PaymentSession, Refund
from kadosei.providers.base import Provider, ProviderError, ProviderTimeout, RefundStatus
from kadosei.representation import serialize_refund
from kadosei.schemas.requests import RefundCreate
from kadosei.services import idempotency, payments
from kadosei.services.audit import Actor, record_by
from kadosei.services.idempotency import StoredResponse
from kadosei.services.pagination import Page, paginate
from kadosei.services.provider_choice import get_provider
from kadosei.services.refund_confirmation import apply_refund_status, lock_refund, refund_request
from kadosei.services.session_state import lock_session

log = logging.getLogger("kadosei.payments")


@dataclass(frozen=True)
class Taking:
    """What one paying attempt took, and how much of it refunds (not failed) already claim."""

    attempt: Attempt
    taken: int
    claimed: int

    @property
    def remaining(self) -> int:
        return max(self.taken - self.claimed, 0)


def create_refund(
    application: Application,
    mode: str,
    fields: RefundCreate,
    *,
    actor: Actor,
    idempotency_key: str | None = None,
) -> StoredResponse:
    """Refund (part of) a paid session of the application in this mode; the API response
    (the first one again for a replayed ``Idempotency-Key``, as for session creation)."""
    if idempotency_key is None:
        return _create(application, mode, fields, actor)
    key = idempotency.check_key(idempotency_key)
    fingerprint = idempotency.request_fingerprint({"refund": fields.model_dump(exclude_unset=True)})
    replay = idempotency.claim(application.id, mode, key, fingerprint)
    if replay is not None:
        return replay
    try:
        return _create(application, mode, fields, actor, idempotency_key=key)
    except BaseException:
        idempotency.release(application.id, mode, key)
        raise


def refund_merchant_session(
    merchant_id: str, session_id: str, amount: int | None, reason: str | None, *, actor: Actor
) -> Refund:
    """The portal's refund of one of the merchant's sessions (same rules, same road)."""
    session = payments.get_merchant_session(merchant_id, session_id)
    application = db.session.scalar(
        select(Application).where(Application.id == session.application_id)
    )
    fields = RefundCreate(payment_session=session.id, amount=amount, reason=reason)
    response = _create(application, session.mode, fields, actor)
    return get_refund_by_id(response.body["id"])


def get_refund(application: Application, mode: str, refund_id: str) -> Refund:
    """The application's refund in this mode; anyone else's is ``404 resource_missing``."""
    refund = db.session.scalar(_refunds_of(application.id, mode).where(Refund.id == refund_id))
    if refund is None:
        raise not_found("refund", refund_id)
    return refund


def get_refund_by_id(refund_id: str) -> Refund:
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id))
    if refund is None:
        raise not_found("refund", refund_id)
    return refund


def list_refunds(
    application: Application,
    mode: str,
    *,
    session_id: str | None,
    limit: int,
    starting_after: str | None,
) -> Page:
    """Newest first; optionally one session's refunds."""
    query = _refunds_of(application.id, mode)
    if session_id:
        query = query.where(Refund.session_id == session_id)
    return paginate(query, Refund, limit=limit, starting_after=starting_after)


def session_refunds(session_id: str) -> list[Refund]:
    """Every refund of one session, oldest first (the portal's payment page)."""
    query = select(Refund).where(Refund.session_id == session_id).order_by(Refund.pk)
    return list(db.session.scalars(query))


def takings(session: PaymentSession) -> list[Taking]:
    """What each attempt that took money took, oldest success first.

    A ``succeeded`` session's first paying attempt took ``amount_captured``. A provider success
    after the session ended (``conflict``), or a second success, took the session's amount."""
    paid = sorted(
        (a for a in _attempts(session.id) if a.status == "succeeded"),
        key=lambda a: (a.completed_at or a.created_at, a.pk),
    )
    if not session.conflict:
        paid = paid[:1] if session.status == "succeeded" else []
    claimed = _claimed_by_attempt(session.id)
    result = []
    for index, attempt in enumerate(paid):
        first_of_paid_session = index == 0 and session.status == "succeeded"
        taken = session.amount_captured if first_of_paid_session else session.amount
        result.append(Taking(attempt, taken, claimed.get(attempt.id, 0)))
    return result


def refundable_amount(session: PaymentSession) -> int:
    """What can still be refunded: captured − refunds that have not failed."""
    return sum(taking.remaining for taking in takings(session))


def _create(
    application: Application,
    mode: str,
    fields: RefundCreate,
    actor: Actor,
    *,
    idempotency_key: str | None = None,
) -> StoredResponse:
    refund, attempt, provider = _reserve(application, mode, fields)
    answer = _send(refund, attempt, provider)
    refund = lock_refund(refund.id)
    if answer is not None:
        apply_refund_status(refund, answer)
    record_by(
        actor,
        "refund.created",
        merchant_id=refund.merchant_id,
        target=refund.id,
        payment_session=refund.session_id,
        amount=refund.amount,
        currency=refund.currency,
        reason=refund.reason,
        mode=refund.mode,
    )
    response = StoredResponse(201, serialize_refund(refund))
    if idempotency_key is not None:
        idempotency.complete(application.id, mode, idempotency_key, response)
    db.session.commit()
    return response


def _reserve(
    application: Application, mode: str, fields: RefundCreate
) -> tuple[Refund, Attempt, Provider]:
    """Step 1: under the session's lock, check what is refundable and reserve the refund."""
    found = payments.get_payment_session(application, mode, fields.payment_session)
    session = lock_session(found.id)
    try:
        attempt, amount = _choose(session, fields.amount)
        provider = get_provider(attempt.provider)
        if provider is None:
            raise ProviderUnavailable(
                f"The provider that took this payment ({attempt.provider}) is no longer "
                "configured; nothing was refunded"
            )
    except Exception:
        db.session.rollback()
        raise
    refund = Refund(
        merchant_id=session.merchant_id,
        application_id=session.application_id,
        mode=session.mode,
        session_id=session.id,
        attempt_id=attempt.id,
        provider=attempt.provider,
        amount=amount,
        currency=session.currency,
        status="pending",
        reason=fields.reason,
        metadata_=dict(fields.metadata),
    )
    db.session.add(refund)
    db.session.commit()
    return refund, attempt, provider


def _choose(session: PaymentSession, requested: int | None) -> tuple[Attempt, int]:
    """The paying attempt to refund through and the amount, or the contract's 422."""
    paying = takings(session)
    if not any(taking.taken for taking in paying):
        raise Unprocessable(
            f"This session took no money ({session.status}); there is nothing to refund",
            code="session_not_refundable",
        )
    refundable = sum(taking.remaining for taking in paying)
    # The latest payment first: a second success (paid twice) is the one to give back.
    candidates = sorted(paying, key=lambda t: t.remaining, reverse=True)
    amount = requested if requested is not None else candidates[0].remaining
    if amount <= 0 or amount > refundable:
        raise Unprocessable(
            f"At most {refundable} (minor units) of this session can still be refunded",
            code="amount_exceeds_refundable",
            param="amount",
        )
    for taking in reversed(paying):
        if taking.remaining >= amount:
            return taking.attempt, amount
    raise Unprocessable(
        "A refund goes back through one payment: at most "
        f"{candidates[0].remaining} (minor units) at once",
        code="amount_exceeds_refundable",
        param="amount",
    )


def _send(refund: Refund, attempt: Attempt, provider: Provider) -> RefundStatus | None:
    """Step 2: ask the provider; ``None`` when it did not answer in time (stays pending)."""
    request = refund_request(refund, attempt)
    try:
        return provider.refund(request)
    except ProviderTimeout:
        log.warning("refund %s: %s did not answer in time; the sweep sends it again",
                    refund.id, provider.name)  # fmt: skip
        return None
    except ProviderError as exc:
        db.session.rollback()
        db.session.execute(
            delete(Refund).where(Refund.id == refund.id, Refund.provider_refund_reference.is_(None))
        )
        db.session.commit()
        log.warning("refund %s refused by %s (%s); nothing kept", refund.id, provider.name,
                    exc.code)  # fmt: skip
        raise ProviderUnavailable(
            f"{provider.display_name} did not take the refund ({exc.code}); nothing was "
            "refunded or recorded, try again"
        ) from None


def _attempts(session_id: str) -> list[Attempt]:
    query = select(Attempt).where(Attempt.session_id == session_id).order_by(Attempt.pk)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def _claimed_by_attempt(session_id: str) -> dict[str, int]:
    rows = db.session.execute(
        select(Refund.attempt_id, func.sum(Refund.amount))
        .where(Refund.session_id == session_id, Refund.status != "failed")
        .group_by(Refund.attempt_id)
    )
    return {attempt_id: int(total or 0) for attempt_id, total in rows}


def _refunds_of(application_id: str, mode: str) -> Select:
    return select(Refund).where(Refund.application_id == application_id, Refund.mode == mode)
