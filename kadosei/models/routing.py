"""The operator's routing rules: overrides of the learned router (see docs/routing.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kadosei.extensions import db
from kadosei.models.base import SequencedMixin, new_id, utcnow

# disable_provider: {"provider": name} · pin_providers: {"providers": [names]}
# fixed_split: {"weights": {name: positive number}}
ROUTING_RULE_KINDS = ("disable_provider", "pin_providers", "fixed_split")


class RoutingRule(SequencedMixin, db.Model):
    """One override; ``merchant_id`` None applies it to every merchant."""

    __tablename__ = "routing_rules"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("rr"))
    merchant_id: Mapped[str | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
