"""Refresh tokens (rotating, in families), two-factor recovery codes and the audit log of
security-relevant actions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kadosei.extensions import db
from kadosei.models.base import SequencedMixin, new_id, utcnow


class RefreshToken(SequencedMixin, db.Model):
    """One refresh token; rotation marks it used and issues the next in its family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("rtk"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[str] = mapped_column(String(40), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEvent(SequencedMixin, db.Model):
    """Who did what security-relevant thing, from where."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("aud"))
    merchant_id: Mapped[str | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(60))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(SequencedMixin, db.Model):
    """One single-use two-factor recovery code, kept as a digest only."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
