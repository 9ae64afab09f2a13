"""Payment sessions, their attempts at providers, transitions and idempotency records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kadosei.extensions import db
from kadosei.models.base import SequencedMixin, new_id, utcnow
from kadosei.schemas import limits

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled", "expired"})


class PaymentSession(SequencedMixin, db.Model):
    __tablename__ = "payment_sessions"
    __table_args__ = (
        Index("ix_payment_sessions_app_mode_pk", "application_id", "mode", "pk"),
        Index("ix_payment_sessions_status_expires", "status", "expires_at"),
        # The portal's search (services/payment_search.py): newest first, date ranges and a
        # reference prefix, always within one merchant.
        Index("ix_payment_sessions_merchant_pk", "merchant_id", "pk"),
        Index("ix_payment_sessions_merchant_created", "merchant_id", "created_at"),
        Index(
            "ix_payment_sessions_merchant_reference",
            "merchant_id",
            "reference",
            postgresql_ops={"reference": "text_pattern_ops"},
        ),
    )

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("ps"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    mode: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(20), default="open")
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(20))
    success_url: Mapped[str] = mapped_column(Text)
    cancel_url: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(limits.REFERENCE_MAX), index=True)
    description: Mapped[str | None] = mapped_column(String(limits.SESSION_DESCRIPTION_MAX))
    customer_email: Mapped[str | None] = mapped_column(String(limits.EMAIL_MAX))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    provider: Mapped[str | None] = mapped_column(String(40))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    conflict: Mapped[bool] = mapped_column(default=False)
    # docs/api.md §4.2: ``manual`` sessions are authorised, then captured (whole or in part).
    capture_method: Mapped[str] = mapped_column(String(10), default="automatic")
    amount_captured: Mapped[int] = mapped_column(BigInteger, default=0)
    # What refunds sent back (succeeded refunds only; docs/api.md §4.3).
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime]
    # A declined attempt leaves the session open while attempts are left (docs/api.md §5).
    max_attempts: Mapped[int] = mapped_column(
        default=limits.MAX_ATTEMPTS_DEFAULT, server_default=str(limits.MAX_ATTEMPTS_DEFAULT)
    )
    attempts_failed: Mapped[int] = mapped_column(default=0, server_default="0")
    # Times a checkout claimed the session under its lock; 0: it never had an attempt.
    checkout_claims: Mapped[int] = mapped_column(default=0, server_default="0")
    last_failure_code: Mapped[str | None] = mapped_column(String(60))
    last_failure_message: Mapped[str | None] = mapped_column(String(500))
    last_failure_attempt: Mapped[str | None] = mapped_column(String(40))
    completed_at: Mapped[datetime | None]

    attempts: Mapped[list[Attempt]] = relationship(back_populates="session", order_by="Attempt.pk")
    transitions: Mapped[list[SessionTransition]] = relationship(
        back_populates="session", order_by="SessionTransition.pk"
    )

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


# A customer's e-mail is searched case-insensitively (an expression, so declared after the class).
Index(
    "ix_payment_sessions_merchant_email",
    PaymentSession.merchant_id,
    func.lower(PaymentSession.customer_email),
)


class Attempt(SequencedMixin, db.Model):
    """One try of a session at one provider."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("provider", "provider_reference"),)

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("pa"))
    session_id: Mapped[str] = mapped_column(ForeignKey("payment_sessions.id"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    # The provider's id of the payment made in the checkout, when it differs from the
    # checkout's (Adyen's pspReference): captures, voids and its notifications use it.
    payment_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(12), default="creating")
    hosted_url: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(String(500))
    explanation: Mapped[dict] = mapped_column(JSON, default=dict)
    # From the adapter's decline table: another provider may succeed where this one declined.
    retry_elsewhere: Mapped[bool | None]
    duration_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]

    session: Mapped[PaymentSession] = relationship(back_populates="attempts")


class SessionTransition(SequencedMixin, db.Model):
    """A recorded status change of a session, with its cause."""

    __tablename__ = "session_transitions"

    session_id: Mapped[str] = mapped_column(ForeignKey("payment_sessions.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[PaymentSession] = relationship(back_populates="transitions")


class ProviderNotification(SequencedMixin, db.Model):
    """Every verified notification a provider sent, and what it changed."""

    __tablename__ = "provider_notifications"

    provider: Mapped[str] = mapped_column(String(40))
    provider_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    attempt_id: Mapped[str | None] = mapped_column(String(40), index=True)
    reported_status: Mapped[str | None] = mapped_column(String(20))
    effect: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyRecord(SequencedMixin, db.Model):
    """An ``Idempotency-Key`` seen for one application and mode; unique, so never two sessions."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("application_id", "mode", "key"),)

    application_id: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(4))
    key: Mapped[str] = mapped_column(String(limits.IDEMPOTENCY_KEY_MAX))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    response_code: Mapped[int | None]
    response_body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
