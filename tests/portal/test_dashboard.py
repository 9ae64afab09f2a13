"""The dashboard shows volume and success rate over time and per provider, per mode."""

from __future__ import annotations

from datetime import timedelta

from kadosei.models import Attempt, PaymentSession
from kadosei.models.base import utcnow
from kadosei.services.reporting import merchant_dashboard
from tests.factories import PASSWORD


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
):
    created = utcnow() - timedelta(days=days_ago)
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
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token.split('"')[0]},
    )

    html = client.get("/dashboard").get_data(as_text=True)

    assert "43.21 EUR" in html and "<svg" in html and "alpha" in html
    assert "98.76" not in html and "zeta" not in html
    empty_live = client.get("/dashboard?mode=live").get_data(as_text=True)
    assert "No payments yet in live mode" in empty_live
