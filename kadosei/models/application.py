"""Applications (one integration each) and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kadosei.extensions import db
from kadosei.models.base import SequencedMixin, new_id, utcnow
from kadosei.schemas import limits


class Application(SequencedMixin, db.Model):
    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("app"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(limits.APPLICATION_NAME_MAX))
    description: Mapped[str | None] = mapped_column(String(limits.APPLICATION_DESCRIPTION_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="application", order_by="ApiKey.pk.desc()"
    )

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def archive(self) -> None:
        """Archive: keys stop working, data stays readable."""
        if self.archived_at is None:
            self.archived_at = utcnow()


class ApiKey(SequencedMixin, db.Model):
    """A secret API key; only its keyed digest and a display hint are stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("key"))
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    mode: Mapped[str] = mapped_column(String(4))
    name: Mapped[str | None] = mapped_column(String(limits.API_KEY_NAME_MAX))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship(back_populates="api_keys")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def hint(self) -> str:
        """What the portal shows in place of the secret, e.g. ``ks_test_4fG2…x9Qa``."""
        return f"{self.prefix}…{self.last4}"

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = utcnow()
