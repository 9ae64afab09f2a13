"""Payment search in the portal (API.md §8): each search field and filter, their combinations,
bookmarkable as a query string, validated, and only ever the signed-in merchant's sessions."""

from __future__ import annotations

import html
from datetime import datetime

import pytest
from sqlalchemy import event, text

from tests.portal.payment_search_support import listed_ids, signed_in, store_session


@pytest.fixture
def shop(app, db, factories):
    """A merchant with two applications and a handful of distinct sessions, and another
    merchant whose sessions look just like them."""
    merchant, user = factories.make_merchant()
    web = factories.make_application(merchant, name="Web")
    pos = factories.make_application(merchant, name="Till")
    other_merchant, _ = factories.make_merchant()
    elsewhere = factories.make_application(other_merchant, name="Elsewhere")
    s = {
        "eur": store_session(
            db, web, reference="ord-10", customer_email="alice@example.com",
            status="succeeded", provider="sandbox_harbor", created_at=datetime(2026, 11, 1, 0, 0),
        ),
        "usd": store_session(
            db, web, reference="ord-11", currency="USD", customer_email="Bob@Example.com",
            status="failed", provider="sandbox_orbit", created_at=datetime(2026, 11, 10, 23, 59),
        ),
        "jpy": store_session(
            db, web, reference="ORD-12", amount=500, currency="JPY", payment_method="paypal",
            created_at=datetime(2026, 11, 11, 0, 0),
        ),
        "wild": store_session(
            db, web, reference="100%-off", amount=250, status="canceled",
            created_at=datetime(2026, 11, 20, 8, 0),
        ),
        "live": store_session(
            db, pos, reference="1000-x", mode="live", customer_email="alice@example.com",
            amount=19990, status="succeeded", provider="sandbox_harbor",
            created_at=datetime(2026, 11, 30, 23, 59, 59),
        ),
        "theirs": store_session(
            db, elsewhere, reference="ord-10", customer_email="alice@example.com",
            status="succeeded", provider="sandbox_harbor", created_at=datetime(2026, 11, 5),
        ),
    }  # fmt: skip
    ids = {name: session.id for name, session in s.items()}
    return signed_in(app, user), ids, {"web": web.id, "pos": pos.id}


def test_without_a_search_every_session_of_the_merchant_is_listed_newest_first(shop):
    browser, ids, _ = shop

    assert listed_ids(browser) == [ids[n] for n in ("live", "wild", "jpy", "usd", "eur")]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("session_id={eur}", ["eur"]),
        ("session_id=+{usd}+", ["usd"]),  # pasted with spaces
        ("reference=ord-1", ["usd", "eur"]),  # a prefix, and case-sensitive
        ("reference=ORD", ["jpy"]),
        ("reference=100%25", ["wild"]),  # % is a character, not a wildcard
        ("reference=ord_1", []),  # and so is _
        ("reference=rd-1", []),  # a prefix, not anywhere
        ("email=ALICE%40example.COM", ["live", "eur"]),
        ("email=bob%40example.com", ["usd"]),
        ("email=alice%40example.co", []),  # exact, not a prefix
        ("amount=1999", ["usd", "eur"]),  # minor units
        ("amount=19.99&currency=EUR", ["eur"]),  # major units once a currency is chosen
        ("amount=199.9&currency=eur", ["live"]),
        ("amount=500&currency=JPY", ["jpy"]),
        ("status=succeeded", ["live", "eur"]),
        ("status=canceled", ["wild"]),
        ("method=paypal", ["jpy"]),
        ("currency=USD", ["usd"]),
        ("provider=sandbox_harbor", ["live", "eur"]),
        ("provider=sandbox_orbit", ["usd"]),
        ("mode=live", ["live"]),
        ("mode=test", ["wild", "jpy", "usd", "eur"]),
        ("application={pos}", ["live"]),
        ("created_from=2026-11-10&created_to=2026-11-10", ["usd"]),  # both ends are whole days
        ("created_from=2026-11-11", ["live", "wild", "jpy"]),
        ("created_to=2026-11-01", ["eur"]),
        ("created_to=2026-11-30", ["live", "wild", "jpy", "usd", "eur"]),
        ("status=succeeded&provider=sandbox_harbor&mode=test", ["eur"]),
        ("email=alice%40example.com&created_from=2026-11-02", ["live"]),
        ("reference=ord&currency=EUR&amount=1999&status=succeeded", ["eur"]),
        ("reference=ord&currency=EUR&status=failed", []),
    ],
)
def test_each_search_and_filter_and_their_combinations(shop, query, expected):
    browser, ids, apps = shop

    found = listed_ids(browser, "?" + query.format(**ids, **apps))

    assert found == [ids[name] for name in expected]


def test_another_merchants_sessions_never_appear_whatever_the_search(shop):
    browser, ids, _ = shop

    assert ids["theirs"] not in listed_ids(browser, "?reference=ord-10")
    assert listed_ids(browser, f"?session_id={ids['theirs']}") == []
    assert browser.get(f"/payments/{ids['theirs']}").status_code == 404
    csv_text = browser.get("/payments/export.csv?email=alice%40example.com").get_data(as_text=True)
    assert ids["theirs"] not in csv_text and ids["eur"] in csv_text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("session_id=pa_123", "A session id looks like ps_…"),
        ("session_id=ps_x' OR 1=1--", "A session id looks like ps_…"),
        ("email=not-an-email", "Invalid email address"),
        ("amount=abc", "An amount is a number"),
        ("amount=-5", "An amount is a number"),
        ("amount=19.99", "Choose a currency"),
        ("amount=19.999&currency=EUR", "Not an amount in EUR: EUR has 2 decimals"),
        ("amount=5.5&currency=JPY", "Not an amount in JPY"),
        ("amount=" + "9" * 30, "Field cannot be longer than 20 characters"),
        ("currency=ZZZ", "Not an ISO 4217 currency code"),
        ("currency=EURO", "Field cannot be longer than 3 characters"),
        ("status=paid", "Not a valid choice"),
        ("method=cash", "Not a valid choice"),
        ("provider=stripe_nowhere", "Not a valid choice"),
        ("mode=prod", "Not a valid choice"),
        ("created_from=2026-13-01", "Not a valid date value"),
        ("created_from=2026-11-10&created_to=2026-11-09", "The end date is before the start"),
        ("reference=" + "r" * 256, "Field cannot be longer than 255 characters"),
    ],
)
def test_bad_input_shows_the_form_with_the_error_and_no_results(shop, query, message):
    browser, ids, _ = shop

    response = browser.get("/payments?" + query)
    export = browser.get("/payments/export.csv?" + query)

    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert message in page and "Check the search" in page
    assert ids["eur"] not in page
    assert export.status_code == 400 and export.mimetype == "text/html"


def test_another_merchants_application_is_not_a_valid_choice(shop, factories):
    browser, _, _ = shop
    stranger = factories.make_application()

    response = browser.get(f"/payments?application={stranger.id}")

    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)


def test_the_search_is_kept_in_the_form_the_next_page_and_the_export_link(app, db, factories):
    merchant, user = factories.make_merchant()
    web = factories.make_application(merchant)
    ids = [
        store_session(db, web, status="succeeded", created_at=datetime(2026, 11, 1, 0, n)).id
        for n in range(27)
    ]
    store_session(db, web, status="failed", created_at=datetime(2026, 11, 1, 1, 0))
    browser = signed_in(app, user)

    first = html.unescape(
        browser.get("/payments?status=succeeded&amount=1999").get_data(as_text=True)
    )

    assert '<option selected value="succeeded">' in first and 'value="1999"' in first
    assert f"starting_after={ids[2]}" in first and "status=succeeded" in first
    assert "/payments/export.csv?amount=1999&status=succeeded" in first
    older = listed_ids(browser, f"?status=succeeded&amount=1999&starting_after={ids[2]}")
    assert older == [ids[1], ids[0]]


def test_the_search_pages_need_a_login(client):
    for path in ("/payments?email=a%40b.example", "/payments/export.csv"):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


SEARCHES_AND_INDEXES = [
    ({}, "ix_payment_sessions_merchant_pk"),
    ({"created_from": "2026-11-01", "created_to": "2026-11-02"}, "ix_payment_sessions_merchant_created"),  # noqa: E501
    ({"email": "Alice@example.com"}, "ix_payment_sessions_merchant_email"),
    ({"reference": "ord-1"}, "ix_payment_sessions_merchant_reference"),
]  # fmt: skip


@pytest.mark.parametrize(("search", "index"), SEARCHES_AND_INDEXES)
def test_postgresql_answers_each_search_from_its_index(app, db, factories, search, index):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the query plans asserted are PostgreSQL's")
    from tests.portal.payment_search_support import bulk_store_sessions

    merchant, user = factories.make_merchant()
    mine = factories.make_application(merchant)  # a small merchant among big ones
    bulk_store_sessions(db, mine, 200, start=datetime(2026, 10, 1), reference="ord-9")
    for _ in range(2):
        application = factories.make_application()
        bulk_store_sessions(db, application, 5000, start=datetime(2026, 10, 1), reference="x")
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE payment_sessions"))
    browser = signed_in(app, user)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM payment_sessions" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert browser.get("/payments", query_string=search).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    statement, parameters = statements[-1]
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert index in plan, plan
