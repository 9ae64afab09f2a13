"""Finding a merchant's payment sessions: the portal's search, its pages and its export
(docs/api.md §8).

Every query is scoped to one merchant and served by the indexes declared on
``PaymentSession``: newest first by the creation sequence, a created-at range, a reference
prefix and a customer's e-mail compared in lower case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Row, Select, func, select

from kadosei.extensions import db
from kadosei.models import PaymentSession
from kadosei.providers.registry import all_providers
from kadosei.services.pagination import Page, paginate

EXPORT_CHUNK = 1000


@dataclass(frozen=True)
class PaymentFilters:
    """What to look for; ``None`` means any. Dates are UTC days, both ends included."""

    session_id: str | None = None
    reference: str | None = None  # a prefix
    customer_email: str | None = None  # exact, whatever the case
    amount: int | None = None  # minor units
    status: str | None = None
    payment_method: str | None = None
    currency: str | None = None
    provider: str | None = None  # where the latest checkout was created
    mode: str | None = None
    application_id: str | None = None
    created_from: date | None = None
    created_to: date | None = None


def provider_names() -> list[str]:
    """The providers a session can have been sent to, for the provider filter."""
    return [provider.name for provider in all_providers()]


def search_sessions(
    merchant_id: str, filters: PaymentFilters, *, limit: int, starting_after: str | None
) -> Page:
    """One page of the merchant's sessions matching ``filters``, newest first."""
    query = _matching(select(PaymentSession), merchant_id, filters)
    return paginate(query, PaymentSession, limit=limit, starting_after=starting_after)


def iter_matching_rows(
    merchant_id: str, filters: PaymentFilters, columns: list, *, chunk: int = EXPORT_CHUNK
) -> Iterator[Row]:
    """Every matching session as a row of ``columns``, newest first, read ``chunk`` rows at a
    time by keyset on the sequence, so memory stays flat however many there are."""
    query = _matching(select(PaymentSession.pk, *columns), merchant_id, filters)
    query = query.order_by(PaymentSession.pk.desc()).limit(chunk)
    before: int | None = None
    while True:
        page = query if before is None else query.where(PaymentSession.pk < before)
        rows = db.session.execute(page).all()
        yield from rows
        if len(rows) < chunk:
            return
        before = rows[-1].pk


def _matching(query: Select, merchant_id: str, filters: PaymentFilters) -> Select:
    query = query.where(PaymentSession.merchant_id == merchant_id)
    equal = {
        PaymentSession.id: filters.session_id,
        PaymentSession.amount: filters.amount,
        PaymentSession.status: filters.status,
        PaymentSession.payment_method: filters.payment_method,
        PaymentSession.currency: filters.currency,
        PaymentSession.provider: filters.provider,
        PaymentSession.mode: filters.mode,
        PaymentSession.application_id: filters.application_id,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if filters.reference:
        query = query.where(*_starts_with(PaymentSession.reference, filters.reference))
    if filters.customer_email:
        email = filters.customer_email.lower()
        query = query.where(func.lower(PaymentSession.customer_email) == email)
    if filters.created_from:
        query = query.where(PaymentSession.created_at >= _midnight(filters.created_from))
    if filters.created_to:
        next_day = filters.created_to + timedelta(days=1)
        query = query.where(PaymentSession.created_at < _midnight(next_day))
    return query


def _starts_with(column, prefix: str) -> tuple:
    """A case-sensitive prefix match on every database: LIKE (index-backed on PostgreSQL) and,
    as SQLite's LIKE ignores case, the exact leading characters too."""
    return (
        column.startswith(prefix, autoescape=True),
        func.substr(column, 1, len(prefix)) == prefix,
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min)
