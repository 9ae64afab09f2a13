"""The sandbox PSP's back office: its payments, the customer's actions on the hosted page,
the delayed card's completion and the notification outbox.

``create_payment`` and ``expire_payment`` answer kadosei's adapter calls, so they join the
caller's transaction (flush only). The customer's actions are use cases of their own: each
commits, then queues the signed notification, which the sweep re-sends if the queue is away.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from kadosei.extensions import db
from kadosei.jobs.queue import enqueue
from kadosei.models.base import utcnow
from kadosei.models.sandbox import SandboxPayment
from kadosei.providers.base import CheckoutRequest, PaymentUnderWay
from kadosei.providers.sandbox.cards import DECLINED, CardOutcome, outcome_for
from kadosei.providers.sandbox.knobs import load_knobs

SEND_NOTIFICATION = "kadosei.providers.sandbox.jobs.send_notification"
COMPLETE_PROCESSING = "kadosei.providers.sandbox.jobs.complete_processing_payment"
METHOD_DECLINE = ("payment_declined", "The customer did not authorize the payment.")
CUSTOMER_CANCELED = ("canceled", "The customer canceled the payment.")

_system_random = random.Random()


def create_payment(provider: str, request: CheckoutRequest) -> SandboxPayment:
    payment = SandboxPayment(
        provider=provider,
        attempt_id=request.attempt_id,
        session_id=request.session_id,
        mode=request.mode,
        amount=request.amount,
        currency=request.currency,
        payment_method=request.payment_method,
        return_url=request.return_url,
        description=request.description,
        expires_at=request.expires_at,
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def find_payment(provider: str, reference: str) -> SandboxPayment | None:
    return db.session.scalar(
        select(SandboxPayment).where(
            SandboxPayment.id == reference, SandboxPayment.provider == provider
        )
    )


def get_payment(reference: str) -> SandboxPayment:
    payment = db.session.scalar(select(SandboxPayment).where(SandboxPayment.id == reference))
    if payment is None:
        raise LookupError(f"No sandbox payment {reference}")
    return payment


def current_status(payment: SandboxPayment, now: datetime | None = None) -> str:
    """The payment's status, counting an unpaid checkout past its expiry as ``expired``."""
    return "expired" if payment.lapsed(now or utcnow()) else payment.status


def expire_payment(payment: SandboxPayment) -> SandboxPayment:
    """End an unpaid checkout (flush only); ``PaymentUnderWay`` once the customer paid."""
    if payment.status in ("processing", "succeeded"):
        raise PaymentUnderWay(f"Payment {payment.id} is already {payment.status}")
    if payment.status == "pending":
        payment.status = "expired"
        db.session.flush()
    return payment


def pay_by_card(
    payment: SandboxPayment, card_number: str, rng: random.Random | None = None
) -> SandboxPayment:
    """The customer paid with a (valid, normalised) card number on the hosted page."""
    if not _awaiting_customer(payment):
        return payment
    outcome = outcome_for(card_number)
    if outcome.status == "succeeded" and not _succeeds(payment.provider, rng):
        outcome = DECLINED
    payment.card_last4 = card_number[-4:]
    if outcome.status == "processing":
        seconds = current_app.config["SANDBOX_PROCESSING_SECONDS"]
        payment.completes_at = utcnow() + timedelta(seconds=seconds)
    _change(payment, outcome)
    if outcome.status == "processing":
        enqueue(COMPLETE_PROCESSING, payment.id, at=payment.completes_at)
    return payment


def authorize(payment: SandboxPayment) -> SandboxPayment:
    """The customer authorized a non-card payment (their bank, wallet or Klarna said yes)."""
    if _awaiting_customer(payment):
        _change(payment, CardOutcome("succeeded"))
    return payment


def decline(payment: SandboxPayment) -> SandboxPayment:
    """The customer's bank, wallet or Klarna refused a non-card payment."""
    if _awaiting_customer(payment):
        _change(payment, CardOutcome("failed", *METHOD_DECLINE))
    return payment


def cancel(payment: SandboxPayment) -> SandboxPayment:
    """The customer left the hosted page with its cancel control."""
    if _awaiting_customer(payment):
        _change(payment, CardOutcome("canceled", *CUSTOMER_CANCELED))
    return payment


def complete_processing(reference: str) -> bool:
    """Finish a delayed card payment (``processing → succeeded``) once; ``True`` if it did."""
    now = utcnow()
    result = db.session.execute(
        update(SandboxPayment)
        .where(SandboxPayment.id == reference, SandboxPayment.status == "processing")
        .values(status="succeeded", updated_at=now, notification_due_at=now, notified_at=None)
    )
    db.session.commit()
    if result.rowcount != 1:
        return False
    enqueue(SEND_NOTIFICATION, reference)
    return True


def overdue_processing(now: datetime, limit: int = 100) -> list[str]:
    return list(
        db.session.scalars(
            select(SandboxPayment.id)
            .where(SandboxPayment.status == "processing", SandboxPayment.completes_at <= now)
            .order_by(SandboxPayment.pk)
            .limit(limit)
        )
    )


def claim_notification(reference: str) -> datetime | None:
    """Mark the payment's due notification as being sent; ``None`` if none is due (already
    sent by another worker): this keeps duplicates rare, and they are harmless anyway."""
    claimed_at = utcnow()
    result = db.session.execute(
        update(SandboxPayment)
        .where(
            SandboxPayment.id == reference,
            SandboxPayment.notified_at.is_(None),
            SandboxPayment.notification_due_at.is_not(None),
        )
        .values(notified_at=claimed_at)
    )
    db.session.commit()
    return claimed_at if result.rowcount == 1 else None


def release_notification(reference: str, claimed_at: datetime) -> None:
    """Sending failed: make the notification due again for the next job or sweep."""
    db.session.rollback()
    db.session.execute(
        update(SandboxPayment)
        .where(SandboxPayment.id == reference, SandboxPayment.notified_at == claimed_at)
        .values(notified_at=None)
    )
    db.session.commit()


def due_notifications(due_before: datetime, due_after: datetime, limit: int = 100) -> list[str]:
    return list(
        db.session.scalars(
            select(SandboxPayment.id)
            .where(
                SandboxPayment.notified_at.is_(None),
                SandboxPayment.notification_due_at <= due_before,
                SandboxPayment.notification_due_at > due_after,
            )
            .order_by(SandboxPayment.pk)
            .limit(limit)
        )
    )


def _awaiting_customer(payment: SandboxPayment) -> bool:
    return payment.status == "pending" and not payment.lapsed(utcnow())


def _succeeds(provider: str, rng: random.Random | None) -> bool:
    return (rng or _system_random).random() < load_knobs(provider).success_rate


def _change(payment: SandboxPayment, outcome: CardOutcome) -> None:
    """Record the customer's outcome, commit, then queue the signed notification."""
    now = utcnow()
    payment.status = outcome.status
    payment.failure_code = outcome.failure_code
    payment.failure_message = outcome.failure_message
    payment.notification_due_at = now
    payment.notified_at = None
    db.session.commit()
    enqueue(SEND_NOTIFICATION, payment.id)
