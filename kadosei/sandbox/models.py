"""The sandbox PSPs' own records: their payments and the operator's knobs.

These tables are the PSP's back office, written only by :mod:`kadosei.sandbox` in
transactions of its own; kadosei's tables never point here except through an attempt's
provider reference, and the sandbox never reads or writes kadosei's tables.
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kadosei.extensions import db

_ALPHABET = string.digits + string.ascii_letters
# SQLite only auto-increments an INTEGER primary key; PostgreSQL gets a BIGINT.
_SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Naive UTC now, as every sandbox timestamp is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_reference() -> str:
    """A payment reference: ``sbx_`` and 24 random base62 characters."""
    return "sbx_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


BRAND_NAME_MAX = 200

# A sandbox payment's life, in the sandbox PSP's own vocabulary.
# ``authorized``: a manual-capture payment the customer approved, held until captured or voided.
SANDBOX_PAYMENT_STATUSES = (
    "pending",
    "processing",
    "authorized",
    "succeeded",
    "failed",
    "canceled",
    "expired",
)
SANDBOX_FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled", "expired"})


class SandboxPayment(db.Model):
    """One hosted checkout at a sandbox provider (``sbx_…``), and its notification outbox."""

    __tablename__ = "sandbox_payments"
    __table_args__ = (
        Index("ix_sandbox_payments_status_completes", "status", "completes_at"),
        Index("ix_sandbox_payments_notify", "notified_at", "notification_due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), unique=True, default=new_reference)
    provider: Mapped[str] = mapped_column(String(40))
    attempt_id: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(4))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(20))
    return_url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(1000))
    # The merchant's brand, shown on the hosted page ("Pay Blue Heron Books").
    brand_name: Mapped[str | None] = mapped_column(String(BRAND_NAME_MAX))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    # ``manual``: the customer's approval only authorises; the merchant captures or voids.
    capture_method: Mapped[str] = mapped_column(String(10), default="automatic")
    amount_captured: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None]
    # A delayed ("processing") card payment completes at this time.
    completes_at: Mapped[datetime | None]
    # Outbox: a status change sets notification_due_at and clears notified_at.
    notification_due_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    # Insertion order (the column comes last, as it did from the shared mixin).
    pk: Mapped[int] = mapped_column(_SEQUENCE, primary_key=True, autoincrement=True)

    @property
    def final(self) -> bool:
        return self.status in SANDBOX_FINAL_STATUSES

    def lapsed(self, now: datetime) -> bool:
        return self.status == "pending" and self.expires_at is not None and self.expires_at <= now


class SandboxSettings(db.Model):
    """The operator's knobs for one sandbox provider; no row means the defaults."""

    __tablename__ = "sandbox_settings"

    provider: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    down: Mapped[bool] = mapped_column(default=False)
    slow_ms: Mapped[int] = mapped_column(default=0)
    error_rate: Mapped[float] = mapped_column(Float, default=0.0)
    success_rate: Mapped[float] = mapped_column(Float, default=1.0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def new_refund_reference() -> str:
    """A refund reference: ``sbr_`` and 24 random base62 characters."""
    return "sbr_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


SANDBOX_REFUND_STATUSES = ("pending", "succeeded", "failed")


class SandboxRefund(db.Model):
    """One refund of a sandbox payment (``sbr_…``): pending, then settled a few seconds later
    (an amount ending in 13 minor units fails, like a test card), and its notification outbox.
    ``merchant_reference`` is the merchant's idempotency key: the same one returns the same
    refund."""

    __tablename__ = "sandbox_refunds"
    __table_args__ = (
        UniqueConstraint("provider", "merchant_reference"),
        Index("ix_sandbox_refunds_status_completes", "status", "completes_at"),
        Index("ix_sandbox_refunds_notify", "notified_at", "notification_due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), unique=True, default=new_refund_reference)
    provider: Mapped[str] = mapped_column(String(40))
    payment_id: Mapped[str] = mapped_column(String(40), index=True)
    merchant_reference: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completes_at: Mapped[datetime | None]
    notification_due_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    pk: Mapped[int] = mapped_column(_SEQUENCE, primary_key=True, autoincrement=True)
