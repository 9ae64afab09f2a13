"""Shared column helpers: public ids, UTC timestamps, the ordering sequence and encrypted text."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from kadosei import encryption

BASE62 = string.digits + string.ascii_letters
ID_LENGTH = 24

# SQLite only auto-increments an INTEGER primary key; PostgreSQL gets a BIGINT.
SequenceInteger = BigInteger().with_variant(Integer(), "sqlite")


class EncryptedString(TypeDecorator):
    """Text stored encrypted (``kadosei.encryption``: the configured keys) and read back plain;
    the column never holds the plaintext. Not comparable in SQL: each write is a new token."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else encryption.encrypt(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else encryption.decrypt(value)


def random_base62(length: int) -> str:
    """``length`` characters drawn uniformly from the base62 alphabet."""
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    """A public id: a type prefix and 24 random base62 characters (~143 bits)."""
    return f"{prefix}_{random_base62(ID_LENGTH)}"


def utcnow() -> datetime:
    """Naive UTC now; every timestamp is stored as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` suffix, millisecond precision, for the API."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class SequencedMixin:
    """An internal auto-increment key: exact creation order for lists and paging."""

    pk: Mapped[int] = mapped_column(SequenceInteger, primary_key=True, autoincrement=True)
