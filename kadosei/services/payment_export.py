"""The CSV export of a merchant's filtered payment sessions, produced as a stream
(docs/api.md §8)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime

from kadosei.models import PaymentSession
from kadosei.providers.amounts import to_decimal_string
from kadosei.services.payment_search import EXPORT_CHUNK, PaymentFilters, iter_matching_rows

CSV_COLUMNS = (
    "id",
    "created_at",
    "status",
    "mode",
    "amount",
    "amount_decimal",
    "currency",
    "payment_method",
    "provider",
    "reference",
    "customer_email",
    "description",
    "completed_at",
    "failure_code",
)
_SELECTED = [
    PaymentSession.id,
    PaymentSession.created_at,
    PaymentSession.status,
    PaymentSession.mode,
    PaymentSession.amount,
    PaymentSession.currency,
    PaymentSession.payment_method,
    PaymentSession.provider,
    PaymentSession.reference,
    PaymentSession.customer_email,
    PaymentSession.description,
    PaymentSession.completed_at,
    PaymentSession.failure_code,
]
# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV Injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_filename(today: date) -> str:
    return f"kadosei-payments-{today.isoformat()}.csv"


def export_csv(merchant_id: str, filters: PaymentFilters) -> Iterator[str]:
    """The header, then the matching sessions newest first, one chunk of lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = iter_matching_rows(merchant_id, filters, _SELECTED)
    for written, row in enumerate(rows, start=1):
        writer.writerow(_cells(row))
        if written % EXPORT_CHUNK == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def safe_cell(value: object) -> str:
    """The cell as text, a leading quote keeping a would-be formula plain text."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _cells(row) -> tuple:
    """One line's cells. Only the free-text ones can start like a formula: the others are ids,
    timestamps, non-negative amounts and kadosei's own names and codes."""
    (_, id_, created, status, mode, amount, currency, method, provider) = row[:9]
    (reference, email, description, completed, failure_code) = row[9:]
    return (
        id_,
        _timestamp(created),
        status,
        mode,
        amount,
        to_decimal_string(amount, currency),
        currency,
        method,
        provider,
        safe_cell(reference),
        safe_cell(email),
        safe_cell(description),
        _timestamp(completed),
        safe_cell(failure_code),
    )


def _timestamp(value: datetime | None) -> str | None:
    """ISO 8601 UTC to the millisecond, as the API writes it (``isoformat`` in C: 100,000
    rows a second)."""
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
