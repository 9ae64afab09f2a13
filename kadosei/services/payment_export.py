"""The CSV export of a merchant's filtered payment sessions, produced as a stream (§8)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

from kadosei.models import PaymentSession
from kadosei.models.base import isoformat
from kadosei.services.currencies import decimal_amount
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
        writer.writerow([safe_cell(value) for value in _cells(row)])
        if written % EXPORT_CHUNK == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def safe_cell(value: object) -> str:
    """The cell as text, a leading quote keeping a would-be formula plain text."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _cells(row) -> tuple:
    return (
        row.id,
        isoformat(row.created_at),
        row.status,
        row.mode,
        row.amount,
        decimal_amount(row.amount, row.currency),
        row.currency,
        row.payment_method,
        row.provider,
        row.reference,
        row.customer_email,
        row.description,
        isoformat(row.completed_at),
        row.failure_code,
    )


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
