"""The portal shows each attempt's routing decision and the router's per-provider view."""

from __future__ import annotations

import html

from routing_service_support import MerchantApi, attempts_of, signed_in_browser

from kadosei.sandbox.knobs import update_knobs
from kadosei.services import routing_rules


def test_the_payment_page_renders_each_attempts_explanation(app, merchant, customer, account):
    update_knobs("sandbox_harbor", {"error_rate": 1.0})
    routing_rules.add_rule("disable_provider", {"provider": "sandbox_orbit"}, note="maintenance")
    session = merchant.create_session()
    customer.go_to_hosted_page(session)
    browser = signed_in_browser(app, account[1])

    page = html.unescape(browser.get(f"/payments/{session['id']}").get_data(as_text=True))

    for attempt in attempts_of(session):
        assert f'id="why-{attempt.id}"' in page
    assert "routing-candidates" in page and "Expected value" in page and "Breaker" in page
    assert "sandbox_harbor" in page and "sandbox_lumen" in page
    assert "this attempt" in page and "learned" in page
    assert "Rule applied: <code>disable_provider</code> (global" in page and "maintenance" in page
    assert "Left out by rules: sandbox_orbit (disable provider)" in page
    if attempts_of(session)[0].provider == "sandbox_harbor":
        assert "tried after sandbox_harbor failed" in page


def test_the_routing_page_shows_estimates_and_breaker_states_per_segment(
    app, merchant, customer, account, clock
):
    update_knobs("sandbox_harbor", {"down": True})
    harbor_errors = 0
    for _ in range(30):  # until Harbor has been tried (and failed) twice: its breaker opens
        clock.advance(60)  # its availability estimate recovers, so it is tried again
        session = merchant.create_session()
        customer.go_to_hosted_page(session)
        harbor_errors += sum(a.provider == "sandbox_harbor" for a in attempts_of(session))
        if harbor_errors >= 2:
            break
    merchant.create_session(payment_method="paypal", currency="USD")
    browser = signed_in_browser(app, account[1])

    page = browser.get("/routing").get_data(as_text=True)
    live = browser.get("/routing?mode=live").get_data(as_text=True)

    assert 'href="/routing"' in page  # in the navigation
    assert "card in EUR" in page and "paypal in USD" in page
    harbor_row = page.split("<td>sandbox_harbor</td>", 1)[1].split("</tr>", 1)[0]
    assert "badge-error" in harbor_row and ">open<" in harbor_row
    assert "badge-closed" in page and "%" in page
    assert "No live-mode payments yet" in live
    assert browser.get("/routing?mode=bogus").status_code == 400


def test_the_routing_page_needs_a_login(client):
    response = client.get("/routing")

    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_the_routing_page_says_when_statistics_are_unavailable(database_url, _schema, redis_url):
    from kadosei.extensions import db
    from tests.conftest import HttpsClient, _truncate_all, make_test_app
    from tests.factories import Factories

    app = make_test_app(database_url, "redis://127.0.0.1:1/0")
    with app.app_context():
        try:
            factories = Factories(app)
            merchant_row, user = factories.make_merchant()
            _, secret = factories.make_api_key(factories.make_application(merchant_row), "test")
            app.test_client_class = HttpsClient
            MerchantApi(app.test_client(), secret).create_session()
            browser = signed_in_browser(app, user)

            page = browser.get("/routing").get_data(as_text=True)

            assert "Routing statistics are unavailable" in page and "card in EUR" in page
        finally:
            db.session.remove()
            _truncate_all()
            db.engine.dispose()
