"""Merchants and the people who log in for them."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kadosei.extensions import db
from kadosei.models.base import SequencedMixin, new_id, utcnow


class Merchant(SequencedMixin, db.Model):
    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("mer"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="merchant")


class User(UserMixin, SequencedMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("usr"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="owner")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    merchant: Mapped[Merchant] = relationship(back_populates="users")

    def get_id(self) -> str:
        return self.id
