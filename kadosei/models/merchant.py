"""Merchants and the people who log in for them."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kadosei.extensions import db
from kadosei.models.base import EncryptedString, SequencedMixin, new_id, random_base62, utcnow
from kadosei.schemas import limits


class Merchant(SequencedMixin, db.Model):
    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("mer"))
    # The shop's name: the portal shows it, and so do kadosei's checkout pages to customers.
    name: Mapped[str] = mapped_column(String(limits.MERCHANT_NAME_MAX))
    # Where customers may write with questions (account settings); optional.
    support_email: Mapped[str | None] = mapped_column(String(limits.EMAIL_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="merchant")


class User(UserMixin, SequencedMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("usr"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    email: Mapped[str] = mapped_column(String(limits.EMAIL_MAX), unique=True)
    name: Mapped[str | None] = mapped_column(String(limits.PERSON_NAME_MAX))
    password_hash: Mapped[str] = mapped_column(String(255))
    # owner | developer | viewer (docs/api.md §11); ``kadosei.permissions`` decides what each may.
    role: Mapped[str] = mapped_column(String(20), default="owner")
    # A platform operator (not a merchant role): may change platform-wide settings such as
    # the sandbox providers' knobs. Granted only from the CLI.
    is_operator: Mapped[bool] = mapped_column(default=False)
    # Part of every portal session's id: changing it signs the user out everywhere.
    session_nonce: Mapped[str] = mapped_column(String(32), default=lambda: random_base62(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Two-factor authentication (TOTP): the base32 secret, counted only once confirmed; kept
    # encrypted (a Fernet token of a 32-character secret is 140 characters).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString(255))
    totp_enabled_at: Mapped[datetime | None]
    # The time step of the last code accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    merchant: Mapped[Merchant] = relationship(back_populates="users")

    def get_id(self) -> str:
        """The portal session's user id: public id and session nonce."""
        return f"{self.id}.{self.session_nonce}"

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret is not None

    def end_all_sessions(self) -> None:
        """Invalidate every portal session of this user (log-out, password change)."""
        self.session_nonce = random_base62(16)


class Invitation(SequencedMixin, db.Model):
    """An invitation to join a merchant's team with a role: single use, for a limited time.

    Only a digest of the link's token is stored; the link is shown once, to the inviter.
    """

    __tablename__ = "team_invitations"

    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("inv"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    email: Mapped[str] = mapped_column(String(limits.EMAIL_MAX))
    role: Mapped[str] = mapped_column(String(20))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_user_id: Mapped[str | None] = mapped_column(String(40))
    withdrawn_at: Mapped[datetime | None]

    merchant: Mapped[Merchant] = relationship()

    def is_pending(self, now: datetime) -> bool:
        """Neither accepted nor withdrawn, and not yet expired."""
        return self.accepted_at is None and self.withdrawn_at is None and self.expires_at > now
