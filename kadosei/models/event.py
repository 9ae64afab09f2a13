"""Events: a record of a change, delivered to webhook endpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kadosei.extensions import db
from kadosei.models.base import SequencedMixin, new_id, utcnow


class Event(SequencedMixin, db.Model):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_app_mode_pk", "application_id", "mode", "pk"),)

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("evt"))
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    mode: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(60))
    session_id: Mapped[str | None] = mapped_column(String(40), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
