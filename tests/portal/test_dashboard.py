"""The dashboard shows volume and success rate over time and per provider, per mode."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, insert, text

from kadosei.models import Attempt, PaymentSession
from kadosei.models.base import utcnow
from kadosei.portal.charts import outcome_chart
from kadosei.services.reporting import DayFigures, merchant_dashboard, period
from tests.factories import PASSWORD

NOW = datetime(2026, 3, 15, 12, 0)


def _session(
    db,
    application,
    status,
    *,
    mode="test",
    amount=1000,
    currency="EUR",
    days_ago=0,
    provider=None,
    attempt_status=None,
    created=None,
):
    created = created or utcnow() - timedelta(days=days_ago)
    session = PaymentSession(
        merchant_id=application.merchant_id,
        application_id=application.id,
        mode=mode,
        status=status,
        amount=amount,
        currency=currency,
        payment_method="card",
        success_url="https://shop.example/ok",
        cancel_url="https://shop.example/cancel",
        created_at=created,
        expires_at=created + timedelta(hours=1),
    )
    db.session.add(session)
    db.session.flush()
    if provider:
        db.session.add(
            Attempt(
                session_id=session.id,
                provider=provider,
                status=attempt_status or status,
                created_at=created,
            )
        )
    db.session.commit()
    return session


def log_in(client, user):
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token.split('"')[0]},
    )


class QueryCounter:
    """Counts the statements the app sends to the database while it is active."""

    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        self.statements.append(statement)


def test_figures_count_sessions_success_rate_and_volume_per_day_and_provider(db, factories):
    merchant, _ = factories.make_merchant()
    application = factories.make_application(merchant)
    _session(db, application, "succeeded", amount=1999, provider="alpha")
    _session(db, application, "succeeded", amount=1, provider="beta")
    _session(db, application, "failed", provider="alpha")
    _session(db, application, "expired")  # abandoned: no success or failure
    _session(db, application, "succeeded", days_ago=2, amount=500, currency="JPY")
    _session(db, application, "succeeded", mode="live", amount=7777)

    board = merchant_dashboard(merchant.id, "test")

    assert board.sessions == 5
    assert (board.succeeded, board.failed) == (3, 1)
    assert board.success_rate == 0.75
    assert board.volume == {"EUR": 2000, "JPY": 500}
    today, two_days_ago = board.days[-1], board.days[-3]
    assert (today.sessions, today.succeeded, today.failed) == (4, 2, 1)
    assert two_days_ago.sessions == 1 and two_days_ago.success_rate == 1.0
    alpha = next(p for p in board.providers if p.provider == "alpha")
    assert (alpha.attempts, alpha.succeeded, alpha.failed, alpha.success_rate) == (2, 1, 1, 0.5)


def test_dashboard_page_shows_only_the_signed_in_merchants_data(client, db, factories):
    merchant, user = factories.make_merchant()
    other, _ = factories.make_merchant()
    _session(db, factories.make_application(merchant), "succeeded", amount=4321, provider="alpha")
    _session(db, factories.make_application(other), "succeeded", amount=9876, provider="zeta")
    log_in(client, user)

    html = client.get("/dashboard").get_data(as_text=True)

    assert "43.21 EUR" in html and "<svg" in html and "alpha" in html
    assert "98.76" not in html and "zeta" not in html
    empty_live = client.get("/dashboard?mode=live").get_data(as_text=True)
    assert "No payments yet in live mode" in empty_live


def test_cancels_and_abandons_are_counted_apart_from_the_success_rate_by_day_and_provider(
    db, factories
):
    merchant, _ = factories.make_merchant()
    application = factories.make_application(merchant)
    yesterday, today = NOW - timedelta(days=1), NOW - timedelta(hours=1)
    for status in ("succeeded", "succeeded", "failed", "canceled", "expired", "open"):
        _session(db, application, status, created=today, provider="sandbox_harbor")
    _session(db, application, "succeeded", created=yesterday, provider="sandbox_lumen")
    _session(db, application, "failed", created=yesterday, amount=5, provider="sandbox_lumen")
    _session(  # an error at Harbor, then the customer abandoned the session
        db,
        application,
        "expired",
        created=yesterday,
        provider="sandbox_harbor",
        attempt_status="error",
    )
    _session(db, application, "succeeded", created=NOW - timedelta(days=40))  # before the period
    other = factories.make_application(factories.make_merchant()[0])
    _session(db, other, "failed", created=today, provider="sandbox_harbor")

    board = merchant_dashboard(merchant.id, "test", period_key="7d", now=NOW)

    assert [d.day for d in board.days] == [date(2026, 3, 9) + timedelta(days=i) for i in range(7)]
    day_before, last_day = board.days[-2], board.days[-1]
    assert (last_day.sessions, last_day.succeeded, last_day.failed) == (6, 2, 1)
    assert (last_day.canceled, last_day.abandoned, last_day.in_progress) == (1, 1, 1)
    assert last_day.success_rate == 2 / 3  # canceled, abandoned and open are no failures
    assert (day_before.sessions, day_before.abandoned, day_before.success_rate) == (3, 1, 0.5)
    assert (board.sessions, board.succeeded, board.failed, board.canceled, board.abandoned) == (
        9,
        3,
        2,
        1,
        2,
    )
    assert board.success_rate == 3 / 5
    assert board.volume == {"EUR": 3000}
    harbor, lumen = board.providers
    assert (harbor.provider, harbor.attempts, harbor.succeeded, harbor.failed) == (
        "sandbox_harbor",
        7,
        2,
        1,
    )
    assert (harbor.errors, harbor.abandoned) == (1, 2)  # canceled + expired attempts
    assert harbor.success_rate == 2 / 4
    assert harbor.by_day == {date(2026, 3, 14): 1, date(2026, 3, 15): 6}
    assert (lumen.attempts, lumen.success_rate) == (2, 0.5)


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("7d", date(2026, 3, 9), date(2026, 3, 15)),
        ("30d", date(2026, 2, 14), date(2026, 3, 15)),
        ("90d", date(2025, 12, 16), date(2026, 3, 15)),
        ("this_month", date(2026, 3, 1), date(2026, 3, 15)),
        ("last_month", date(2026, 2, 1), date(2026, 2, 28)),
    ],
)
def test_periods_are_whole_utc_days(key, start, end):
    span = period(key, NOW.date())

    assert (span.start, span.end, len(span.days)) == (start, end, (end - start).days + 1)


def test_last_month_counts_its_last_second_and_not_this_months_first(db, factories):
    merchant, _ = factories.make_merchant()
    application = factories.make_application(merchant)
    _session(db, application, "succeeded", created=datetime(2026, 2, 28, 23, 59, 59))
    _session(db, application, "succeeded", created=datetime(2026, 3, 1, 0, 0, 0))
    _session(db, application, "succeeded", created=datetime(2026, 1, 31, 23, 59, 59))

    last = merchant_dashboard(merchant.id, "test", period_key="last_month", now=NOW)
    this = merchant_dashboard(merchant.id, "test", period_key="this_month", now=NOW)

    assert (last.sessions, last.days[-1].sessions) == (1, 1)
    assert (this.sessions, this.days[0].sessions) == (1, 1)


def test_the_period_picker_is_a_get_form_and_a_bad_period_falls_back_with_a_message(
    client, db, factories
):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    _session(db, application, "succeeded", days_ago=10, provider="sandbox_orbit")
    log_in(client, user)

    week = client.get("/dashboard?period=7d").get_data(as_text=True)
    default = client.get("/dashboard").get_data(as_text=True)
    bad = client.get("/dashboard?period=forever&mode=live")

    assert '<form method="get" action="/dashboard"' in week
    assert '<option selected value="7d">Last 7 days</option>' in week
    assert "No payments yet in test mode" in week  # ten days ago is outside the week
    assert '<option selected value="30d">Last 30 days</option>' in default
    assert "Orbit" in default and "Unknown period" not in default
    for key in ("90d", "this_month", "last_month"):
        assert f'value="{key}"' in default
    page = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "Unknown period: showing the last 30 days." in page
    assert '<option selected value="30d">Last 30 days</option>' in page
    assert '<option selected value="live">Live mode</option>' in page


def test_the_chart_has_labelled_axes_and_the_page_defines_the_success_rate(client, db, factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    for status in ("succeeded", "failed", "canceled", "expired"):
        _session(db, application, status)
    log_in(client, user)

    page = client.get("/dashboard").get_data(as_text=True)

    chart = page.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    assert ">Sessions a day</text>" in chart and ">Day (UTC)</text>" in chart
    assert ">Success rate</text>" in chart and ">100%</text>" in chart and ">0%</text>" in chart
    today = utcnow().date()
    assert f">{today.day} {today:%b}</text>" in chart or f"{today.isoformat()}:" in chart
    assert f"{today.isoformat()}: 4 sessions, 1 succeeded, 1 failed" in chart
    assert "Succeeded ÷ (succeeded + failed)" in page
    assert "1 canceled · 1 abandoned" in page and "50.0 %" in page


def test_the_dashboard_of_100_000_sessions_is_counted_by_a_couple_of_queries(
    app, client, db, factories
):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    statuses = ("succeeded", "succeeded", "succeeded", "failed", "canceled", "expired", "open")
    providers = ("sandbox_harbor", "sandbox_lumen", "sandbox_orbit")
    sessions, attempts, anchor = [], [], utcnow()
    for i in range(100_000):
        created = anchor - timedelta(minutes=i * 1.2)  # ~83 days
        status = statuses[i % len(statuses)]
        sessions.append(
            {
                "id": f"ps_bulk{i:019d}",
                "merchant_id": merchant.id,
                "application_id": application.id,
                "mode": "test",
                "status": status,
                "amount": 1000 + i % 7,
                "currency": ("EUR", "USD")[i % 2],
                "payment_method": "card",
                "success_url": "https://shop.example/ok",
                "cancel_url": "https://shop.example/cancel",
                "metadata_": {},
                "conflict": False,
                "created_at": created,
                "updated_at": created,
                "expires_at": created + timedelta(hours=1),
            }
        )
        attempts.append(
            {
                "id": f"pa_bulk{i:019d}",
                "session_id": f"ps_bulk{i:019d}",
                "provider": providers[i % 3],
                "status": status if status != "open" else "pending",
                "explanation": {},
                "created_at": created,
                "updated_at": created,
            }
        )
    merchant_id = merchant.id
    db.session.execute(insert(PaymentSession), sessions)
    db.session.execute(insert(Attempt), attempts)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # as autovacuum would after a bulk load
        db.session.execute(text("ANALYZE payment_sessions, attempts"))
        db.session.commit()

    with QueryCounter(db.engine) as counter:
        started = time.perf_counter()
        board = merchant_dashboard(merchant_id, "test", period_key="90d", now=anchor)
        elapsed = time.perf_counter() - started

    assert len(counter.statements) <= 2
    assert all("GROUP BY" in statement for statement in counter.statements)
    assert board.sessions == 100_000 and len(board.days) == 90
    assert board.succeeded == sum(1 for i in range(100_000) if i % 7 < 3)
    expected = Counter(statuses[i % len(statuses)] for i in range(100_000))
    assert (board.failed, board.canceled, board.abandoned, board.in_progress) == (
        expected["failed"],
        expected["canceled"],
        expected["expired"],
        expected["open"],
    )
    assert board.volume["EUR"] + board.volume["USD"] == sum(
        1000 + i % 7 for i in range(100_000) if i % 7 < 3
    )
    assert sum(p.attempts for p in board.providers) == 100_000
    print(f"\ndashboard over 100,000 sessions: {elapsed * 1000:.0f} ms")
    log_in(client, user)
    with QueryCounter(db.engine) as page_counter:
        started = time.perf_counter()
        response = client.get("/dashboard?period=90d")
        page_elapsed = time.perf_counter() - started
    assert response.status_code == 200 and "100000" in response.get_data(as_text=True)
    aggregations = [s for s in page_counter.statements if "GROUP BY" in s]
    assert len(aggregations) == 2
    print(f"dashboard page: {page_elapsed * 1000:.0f} ms, {len(page_counter.statements)} queries")


def test_the_success_rate_line_breaks_on_days_without_a_verdict():
    days = [DayFigures(day=date(2026, 3, d)) for d in range(1, 6)]
    days[0].sessions = days[0].succeeded = 1
    days[1].sessions = days[1].succeeded = 1
    days[2].sessions = days[2].canceled = 1  # no verdict: no point, the line breaks
    days[4].sessions = days[4].failed = 1

    chart = outcome_chart(days)

    assert [len(line.split()) for line in chart.lines] == [2, 1]
    assert chart.lines[1].endswith(f",{chart.bottom:.1f}")  # 0 % sits on the baseline
    assert [tick.label for tick in chart.session_ticks] == ["0", "1"]
