"""The sandbox PSP's refunds: a succeeded payment can be refunded, whole or in parts, up to
what it took. A refund is ``pending`` for ``SANDBOX_REFUND_SECONDS``, then settles and the
PSP sends its signed notification; an amount ending in 13 minor units (13, 1013, 2513 …)
fails, like a test card. The merchant's reference is its idempotency key.

Each function is a transaction of the sandbox's own (:mod:`kadosei.sandbox.store`); settling
is one conditional UPDATE (``WHERE status = 'pending'``), so it happens once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from kadosei.jobs.queue import enqueue
from kadosei.sandbox import outbox
from kadosei.sandbox.models import SandboxPayment, SandboxRefund, utcnow
from kadosei.sandbox.store import reading, transaction

SEND_REFUND_NOTIFICATION = "kadosei.sandbox.jobs.send_refund_notification"
SETTLE_REFUND = "kadosei.sandbox.jobs.settle_refund"
FAILING_CENTS = 13
REFUND_DECLINE = (
    "refund_declined",
    "The card issuer refused the refund (test amount ending in 13).",
)


class RefundRefused(Exception):
    """The PSP refuses the refund (payment not paid, too much, another currency)."""


def create_refund(
    provider: str, payment_id: str, amount: int, currency: str, merchant_reference: str
) -> SandboxRefund:
    """A pending refund of ``payment_id`` (or the one already made under this merchant
    reference); ``RefundRefused`` if the payment cannot give that much back."""
    seconds = float(current_app.config["SANDBOX_REFUND_SECONDS"])
    now = utcnow()
    with transaction() as session:
        existing = session.scalar(
            select(SandboxRefund).where(
                SandboxRefund.provider == provider,
                SandboxRefund.merchant_reference == merchant_reference,
            )
        )
        if existing is not None:
            return existing
        payment = session.scalar(
            select(SandboxPayment)
            .where(SandboxPayment.id == payment_id, SandboxPayment.provider == provider)
            .with_for_update()
        )
        _check(session, payment, payment_id, amount, currency)
        refund = SandboxRefund(
            provider=provider,
            payment_id=payment_id,
            merchant_reference=merchant_reference,
            amount=amount,
            currency=currency,
            status="pending",
            completes_at=now + timedelta(seconds=seconds),
        )
        session.add(refund)
        session.flush()
    enqueue(SETTLE_REFUND, refund.id, at=refund.completes_at)
    return refund


def find_refund(provider: str, reference: str) -> SandboxRefund | None:
    with reading() as session:
        return session.scalar(
            select(SandboxRefund).where(
                SandboxRefund.id == reference, SandboxRefund.provider == provider
            )
        )


def get_refund(reference: str) -> SandboxRefund:
    with reading() as session:
        refund = session.scalar(select(SandboxRefund).where(SandboxRefund.id == reference))
    if refund is None:
        raise LookupError(f"No sandbox refund {reference}")
    return refund


def settle_refund(reference: str) -> bool:
    """The bank's answer: ``pending → succeeded`` (or ``failed`` for an amount ending in 13),
    once; then the signed notification is queued. ``True`` if it settled now."""
    refund = get_refund(reference)
    failed = refund.amount % 100 == FAILING_CENTS
    now = utcnow()
    change = (
        update(SandboxRefund)
        .where(SandboxRefund.id == reference, SandboxRefund.status == "pending")
        .values(
            status="failed" if failed else "succeeded",
            failure_code=REFUND_DECLINE[0] if failed else None,
            failure_message=REFUND_DECLINE[1] if failed else None,
            updated_at=now,
        )
    )
    return outbox.commit_and_notify(change, now, SEND_REFUND_NOTIFICATION, reference)


def overdue_refunds(now: datetime, limit: int = 100) -> list[str]:
    with reading() as session:
        return list(
            session.scalars(
                select(SandboxRefund.id)
                .where(SandboxRefund.status == "pending", SandboxRefund.completes_at <= now)
                .order_by(SandboxRefund.pk)
                .limit(limit)
            )
        )


def _check(session, payment: SandboxPayment | None, payment_id: str, amount: int, currency: str):
    if payment is None:
        raise RefundRefused(f"No payment {payment_id!r}")
    if payment.status != "succeeded":
        raise RefundRefused(f"Payment {payment_id} is {payment.status}: nothing to refund")
    if currency != payment.currency:
        raise RefundRefused(f"Payment {payment_id} was made in {payment.currency}")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise RefundRefused("amount must be a positive integer in minor units")
    claimed = session.scalar(
        select(func.coalesce(func.sum(SandboxRefund.amount), 0)).where(
            SandboxRefund.payment_id == payment_id, SandboxRefund.status != "failed"
        )
    )
    if amount > payment.amount - int(claimed):
        raise RefundRefused(
            f"At most {payment.amount - int(claimed)} of payment {payment_id} can be refunded"
        )
