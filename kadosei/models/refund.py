"""Refunds: money sent back to the customer for a paid session, whole or in parts
(docs/api.md §4.3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kadosei.extensions import db
from kadosei.models.base import SequencedMixin, new_id, utcnow

REFUND_FINAL_STATUSES = frozenset({"succeeded", "failed"})


class Refund(SequencedMixin, db.Model):
    """One refund of one session, sent through the provider (and attempt) that took the money.

    ``provider_refund_reference`` is set once the provider has accepted it; until then the
    refund is only reserved (it counts against what is refundable) and the sweep sends it
    again under its own id, which every provider takes as the idempotency key."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("provider", "provider_refund_reference"),
        Index("ix_refunds_app_mode_pk", "application_id", "mode", "pk"),
        Index("ix_refunds_status_updated", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("re"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    mode: Mapped[str] = mapped_column(String(4))
    session_id: Mapped[str] = mapped_column(ForeignKey("payment_sessions.id"), index=True)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id"))
    provider: Mapped[str] = mapped_column(String(40))
    provider_refund_reference: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    reason: Mapped[str | None] = mapped_column(String(30))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]

    @property
    def final(self) -> bool:
        return self.status in REFUND_FINAL_STATUSES
