"""The sandbox PSP's books: its payments, the customer's actions on the hosted page and the
delayed card's completion; every change of status makes a notification due in the outbox
(:mod:`kadosei.sandbox.outbox`).

Every function is a transaction of the sandbox's own (:mod:`kadosei.sandbox.store`). A pending
payment changes state only through one conditional UPDATE (``WHERE status = 'pending'``)
whose row count says who won: the customer's payment and an expiry asked for by kadosei can
never both succeed, as at a real PSP. A customer's action commits, then queues the signed
notification, which the sweep re-sends if the queue is away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, or_, select, update

from kadosei.jobs.queue import enqueue
from kadosei.sandbox import outbox
from kadosei.sandbox.cards import DECLINED, CardOutcome, outcome_for
from kadosei.sandbox.knobs import load_knobs
from kadosei.sandbox.models import BRAND_NAME_MAX, SandboxPayment, utcnow
from kadosei.sandbox.store import reading, transaction

SEND_NOTIFICATION = "kadosei.sandbox.jobs.send_notification"
COMPLETE_PROCESSING = "kadosei.sandbox.jobs.complete_processing_payment"
METHOD_DECLINE = ("payment_declined", "The customer did not authorize the payment.")
CUSTOMER_CANCELED = ("canceled", "The customer canceled the payment.")

_system_random = random.Random()


class PaymentUnderWay(Exception):
    """The customer has paid or is paying: the checkout can no longer be expired."""


class NotHeld(Exception):
    """A capture or void of a payment that holds no authorisation (or more than it holds)."""


@dataclass(frozen=True)
class NewPayment:
    """What the merchant (kadosei) asks the PSP to collect."""

    attempt_id: str
    session_id: str
    mode: str
    amount: int
    currency: str
    payment_method: str
    return_url: str
    description: str | None = None
    # Whom the customer pays, shown on the hosted page (the first BRAND_NAME_MAX characters).
    brand_name: str | None = None
    expires_at: datetime | None = None
    capture_method: str = "automatic"  # or "manual": the customer's approval only authorises


def create_payment(provider: str, new: NewPayment, reference: str) -> SandboxPayment:
    with transaction() as session:
        payment = SandboxPayment(
            id=reference,
            provider=provider,
            attempt_id=new.attempt_id,
            session_id=new.session_id,
            mode=new.mode,
            amount=new.amount,
            currency=new.currency,
            payment_method=new.payment_method,
            return_url=new.return_url,
            description=new.description,
            brand_name=new.brand_name[:BRAND_NAME_MAX] if new.brand_name else None,
            expires_at=new.expires_at,
            capture_method=new.capture_method,
        )
        session.add(payment)
        session.flush()
    return payment


def find_payment(provider: str, reference: str) -> SandboxPayment | None:
    with reading() as session:
        return session.scalar(
            select(SandboxPayment).where(
                SandboxPayment.id == reference, SandboxPayment.provider == provider
            )
        )


def get_payment(reference: str) -> SandboxPayment:
    with reading() as session:
        payment = session.scalar(select(SandboxPayment).where(SandboxPayment.id == reference))
    if payment is None:
        raise LookupError(f"No sandbox payment {reference}")
    return payment


def current_status(payment: SandboxPayment, now: datetime | None = None) -> str:
    """The payment's status, counting an unpaid checkout past its expiry as ``expired``."""
    return "expired" if payment.lapsed(now or utcnow()) else payment.status


def expire_payment(payment: SandboxPayment) -> SandboxPayment:
    """End an unpaid checkout; ``PaymentUnderWay`` once the customer paid or is paying."""
    with transaction() as session:
        session.execute(
            update(SandboxPayment)
            .where(SandboxPayment.id == payment.id, SandboxPayment.status == "pending")
            .values(status="expired", updated_at=utcnow())
        )
    ended = get_payment(payment.id)
    if ended.status in ("processing", "authorized", "succeeded"):
        raise PaymentUnderWay(f"Payment {payment.id} is already {ended.status}")
    return ended


def pay_by_card(
    payment: SandboxPayment, card_number: str, rng: random.Random | None = None
) -> SandboxPayment:
    """The customer paid with a (valid, normalised) card number on the hosted page."""
    if not _awaiting_customer(payment):
        return payment
    outcome = outcome_for(card_number)
    if outcome.status == "succeeded" and not _succeeds(payment.provider, rng):
        outcome = DECLINED
    completes_at = None
    if outcome.status == "processing":
        seconds = current_app.config["SANDBOX_PROCESSING_SECONDS"]
        completes_at = utcnow() + timedelta(seconds=seconds)
    changed = _change(payment, outcome, card_last4=card_number[-4:], completes_at=completes_at)
    if changed and outcome.status == "processing":
        enqueue(COMPLETE_PROCESSING, payment.id, at=completes_at)
    return get_payment(payment.id)


def authorize(payment: SandboxPayment) -> SandboxPayment:
    """The customer authorized a non-card payment (their bank, wallet or Klarna said yes)."""
    _change(payment, CardOutcome("succeeded"))
    return get_payment(payment.id)


def decline(payment: SandboxPayment) -> SandboxPayment:
    """The customer's bank, wallet or Klarna refused a non-card payment."""
    _change(payment, CardOutcome("failed", *METHOD_DECLINE))
    return get_payment(payment.id)


def cancel(payment: SandboxPayment) -> SandboxPayment:
    """The customer left the hosted page with its cancel control."""
    _change(payment, CardOutcome("canceled", *CUSTOMER_CANCELED))
    return get_payment(payment.id)


def capture_payment(payment: SandboxPayment, amount: int) -> SandboxPayment:
    """Take ``amount`` (at most what is held) of an authorised payment and release the rest;
    capturing the same amount again answers the captured payment. ``NotHeld`` otherwise.

    One conditional UPDATE (``WHERE status = 'authorized'``): of two captures, or a capture
    and a void, only one changes the payment."""
    if not 0 < amount <= payment.amount:
        raise NotHeld(f"Payment {payment.id} holds {payment.amount}; cannot capture {amount}")
    if _end_hold(payment, "succeeded", amount_captured=amount):
        return get_payment(payment.id)
    now_held = get_payment(payment.id)
    if now_held.status == "succeeded" and now_held.amount_captured == amount:
        return now_held
    raise NotHeld(f"Payment {payment.id} is {now_held.status}: nothing to capture")


def void_payment(payment: SandboxPayment) -> SandboxPayment:
    """Release an authorisation (the payment is ``canceled``); voiding it again answers the
    same. ``NotHeld`` if it holds nothing."""
    if _end_hold(payment, "canceled"):
        return get_payment(payment.id)
    now_held = get_payment(payment.id)
    if now_held.status == "canceled":
        return now_held
    raise NotHeld(f"Payment {payment.id} is {now_held.status}: nothing to void")


def _end_hold(payment: SandboxPayment, status: str, **values: object) -> bool:
    now = utcnow()
    change = (
        update(SandboxPayment)
        .where(SandboxPayment.id == payment.id, SandboxPayment.status == "authorized")
        .values(status=status, updated_at=now, **values)
    )
    return outbox.commit_and_notify(change, now, SEND_NOTIFICATION, payment.id)


def complete_processing(reference: str) -> bool:
    """Finish a delayed card payment (``processing → succeeded``, or ``authorized`` when it is
    captured later) once; ``True`` if it did."""
    now = utcnow()
    manual = SandboxPayment.capture_method == "manual"
    change = (
        update(SandboxPayment)
        .where(SandboxPayment.id == reference, SandboxPayment.status == "processing")
        .values(
            status=case((manual, "authorized"), else_="succeeded"),
            amount_captured=case((manual, 0), else_=SandboxPayment.amount),
            updated_at=now,
        )
    )
    return outbox.commit_and_notify(change, now, SEND_NOTIFICATION, reference)


def overdue_processing(now: datetime, limit: int = 100) -> list[str]:
    with reading() as session:
        return list(
            session.scalars(
                select(SandboxPayment.id)
                .where(SandboxPayment.status == "processing", SandboxPayment.completes_at <= now)
                .order_by(SandboxPayment.pk)
                .limit(limit)
            )
        )


def _awaiting_customer(payment: SandboxPayment) -> bool:
    return payment.status == "pending" and not payment.lapsed(utcnow())


def _succeeds(provider: str, rng: random.Random | None) -> bool:
    return (rng or _system_random).random() < load_knobs(provider).success_rate


def _change(payment: SandboxPayment, outcome: CardOutcome, **values: object) -> bool:
    """Record the customer's outcome if the checkout still awaits them, commit, then queue
    the signed notification; ``False`` if it ended (expired, paid) meanwhile.

    One conditional UPDATE: whoever changes a pending payment first wins, the other sees
    zero rows (PostgreSQL re-checks the condition after waiting for the row's lock). A
    manual-capture payment the customer approved is ``authorized``: held, not yet taken."""
    now = utcnow()
    if outcome.status == "succeeded":
        if payment.capture_method == "manual":
            outcome = CardOutcome("authorized")
        else:
            values = {**values, "amount_captured": payment.amount}
    change = (
        update(SandboxPayment)
        .where(
            SandboxPayment.id == payment.id,
            SandboxPayment.status == "pending",
            or_(SandboxPayment.expires_at.is_(None), SandboxPayment.expires_at > now),
        )
        .values(
            status=outcome.status,
            failure_code=outcome.failure_code,
            failure_message=outcome.failure_message,
            updated_at=now,
            **values,
        )
    )
    return outbox.commit_and_notify(change, now, SEND_NOTIFICATION, payment.id)
