"""Helpers for the payment search tests: sessions stored as they would be, and a signed-in
browser."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import String, cast, insert, literal, select

from kadosei.models import PaymentSession
from kadosei.models.base import new_id
from tests.conftest import HttpsClient
from tests.factories import PASSWORD

SESSION_LINK = re.compile(r'href="/payments/(ps_[0-9A-Za-z]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def store_session(db, application, *, created_at: datetime | None = None, **fields):
    """One session of ``application``, stored with the given fields (a row as the payment
    services leave it; how it got there is the payment tests' business)."""
    values = _session_values(application, created_at or datetime(2026, 11, 15, 12, 0), **fields)
    session = PaymentSession(
        **{("metadata_" if k == "metadata" else k): v for k, v in values.items()}
    )
    db.session.add(session)
    db.session.commit()
    return session


def bulk_store_sessions(db, application, count: int, *, start: datetime, **fields) -> None:
    """``count`` sessions created at ``start``, in one INSERT … SELECT whose rows the database
    generates itself; their ids are ``bulk_id(application, n)``, n = 0 … count-1, oldest first."""
    table = PaymentSession.__table__
    n = select(literal(0).label("i")).cte("n", recursive=True)
    n = n.union_all(select(n.c.i + 1).where(n.c.i < count - 1))
    values = _session_values(application, start, **fields)
    values["id"] = literal(bulk_id(application, "")) + cast(n.c.i, String)
    rows = select(
        *(v if k == "id" else literal(v, table.c[k].type) for k, v in values.items())
    ).order_by(n.c.i)
    db.session.execute(insert(table).from_select(list(values), rows))
    db.session.commit()


def bulk_id(application, n) -> str:
    return f"ps_{application.id[-10:]}x{n}"


def _session_values(application, created_at: datetime, **fields) -> dict:
    values = {
        "merchant_id": application.merchant_id,
        "application_id": application.id,
        "mode": "test",
        "status": "open",
        "amount": 1999,
        "currency": "EUR",
        "payment_method": "card",
        "success_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
        "metadata": {},
        "conflict": False,
        "created_at": created_at,
        "updated_at": created_at,
        "expires_at": created_at + timedelta(hours=1),
    }
    values.update(fields)
    if "id" not in values:
        values["id"] = new_id("ps")
    return values


def signed_in(app, user):
    app.test_client_class = HttpsClient
    browser = app.test_client()
    token = CSRF.search(browser.get("/login").get_data(as_text=True)).group(1)
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert browser.post("/login", data=form).status_code in (302, 303)
    return browser


def listed_ids(browser, query: str = "") -> list[str]:
    """The session ids the payments page lists for ``query``, in page order."""
    response = browser.get(f"/payments{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return SESSION_LINK.findall(response.get_data(as_text=True))
