"""The CSV export of the filtered payments (API.md §8): its columns and values, safe to open in
a spreadsheet, and streamed so that 100,000 sessions never sit in memory at once."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
from datetime import datetime

from kadosei.models.base import utcnow
from tests.portal.payment_search_support import (
    bulk_id,
    bulk_store_sessions,
    signed_in,
    store_session,
)

HEADER = [
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
]


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_export_holds_the_filtered_sessions_newest_first_with_every_column(app, db, factories):
    merchant, user = factories.make_merchant()
    web = factories.make_application(merchant)
    paid = store_session(
        db,
        web,
        status="succeeded",
        amount=1999,
        reference="ord-1",
        customer_email="alice@example.com",
        description="Blue teapot, 2 × €9.99",
        provider="sandbox_harbor",
        created_at=datetime(2026, 11, 2, 9, 30, 15, 123456),
        completed_at=datetime(2026, 11, 2, 9, 31),
    )
    yen = store_session(
        db,
        web,
        status="failed",
        amount=500,
        currency="JPY",
        failure_code="card_declined",
        created_at=datetime(2026, 11, 3),
    )
    dinar = store_session(db, web, amount=1234, currency="KWD", created_at=datetime(2026, 11, 4))
    store_session(db, web, mode="live", created_at=datetime(2026, 11, 5))
    browser = signed_in(app, user)

    response = browser.get("/payments/export.csv?mode=test")

    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    today = utcnow().date().isoformat()
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="kadosei-payments-{today}.csv"'
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].split(",") == HEADER
    rows = _rows(response)
    assert [r["id"] for r in rows] == [dinar.id, yen.id, paid.id]
    assert rows[2] == {
        "id": paid.id,
        "created_at": "2026-11-02T09:30:15.123Z",
        "status": "succeeded",
        "mode": "test",
        "amount": "1999",
        "amount_decimal": "19.99",
        "currency": "EUR",
        "payment_method": "card",
        "provider": "sandbox_harbor",
        "reference": "ord-1",
        "customer_email": "alice@example.com",
        "description": "Blue teapot, 2 × €9.99",
        "completed_at": "2026-11-02T09:31:00.000Z",
        "failure_code": "",
    }
    assert (rows[1]["amount_decimal"], rows[1]["failure_code"]) == ("500", "card_declined")
    assert rows[1]["provider"] == "" and rows[1]["completed_at"] == ""
    assert rows[0]["amount_decimal"] == "1.234"


def test_an_empty_search_exports_just_the_header(app, db, factories):
    merchant, user = factories.make_merchant()
    store_session(db, factories.make_application(merchant), status="open")

    response = signed_in(app, user).get("/payments/export.csv?status=succeeded")

    assert response.get_data(as_text=True).splitlines() == [",".join(HEADER)]


def test_cells_a_spreadsheet_would_run_as_formulas_are_kept_as_text(app, db, factories):
    merchant, user = factories.make_merchant()
    web = factories.make_application(merchant)
    dangerous = {
        "=HYPERLINK(\"https://evil.example\",\"click\")": "'=HYPERLINK(\"https://evil.example\",\"click\")",
        "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
        "-2+3": "'-2+3",
        "@SUM(1,2)": "'@SUM(1,2)",
        "\t=1+1": "'\t=1+1",
        "\r=1+1": "'\r=1+1",
        "a=b+c": "a=b+c",  # only a leading character makes a formula
        "order 7, \"gift\"\nsecond line": "order 7, \"gift\"\nsecond line",
    }  # fmt: skip
    for n, description in enumerate(dangerous):
        store_session(
            db,
            web,
            description=description,
            reference=description[:255],
            customer_email="=cmd@example.com" if n == 0 else None,
            created_at=datetime(2026, 11, 1, 0, n),
        )

    rows = list(reversed(_rows(signed_in(app, user).get("/payments/export.csv"))))

    assert [r["description"] for r in rows] == list(dangerous.values())
    assert [r["reference"] for r in rows] == list(dangerous.values())
    assert rows[0]["customer_email"] == "'=cmd@example.com"


def test_exporting_100000_sessions_streams_in_bounded_memory(app, db, factories):
    merchant, user = factories.make_merchant()
    web = factories.make_application(merchant)
    bulk_store_sessions(
        db,
        web,
        100_000,
        start=datetime(2026, 10, 1),
        status="succeeded",
        reference="order",
        customer_email="customer@example.com",
        description="A" * 80,
        provider="sandbox_harbor",
    )
    other = factories.make_application()
    bulk_store_sessions(db, other, 10, start=datetime(2026, 10, 1))
    browser = signed_in(app, user)
    newest = bulk_id(web, 99_999).encode()
    db.session.expunge_all()

    started = time.process_time()  # CPU time: the machine may be busy with other work
    tracemalloc.start()
    try:
        response = browser.get("/payments/export.csv", buffered=False)
        assert response.status_code == 200
        lines = size = 0
        first = last = b""
        for chunk in response.response:
            lines += chunk.count(b"\n")
            size += len(chunk)
            first = first or chunk
            last = chunk or last
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert lines == 100_001  # the header and every session, the other merchant's left out
    assert size > 15_000_000  # what would have been held had it not been streamed
    assert peak < 4_000_000, f"peak {peak / 1e6:.1f} MB"
    assert newest in first  # newest first
    assert last.rstrip().endswith(b"sandbox_harbor,order,customer@example.com," + b"A" * 80 + b",,")
    assert time.process_time() - started < 20
