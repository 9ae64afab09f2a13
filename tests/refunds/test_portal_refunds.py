"""Refunds on a payment's portal page (docs/api.md §8): the form for a refundable session,
the same rules as the API (same service), post/redirect/get, the list and the timeline."""

from __future__ import annotations

import html

import pytest
from refunds_support import paid_session, pay_after_the_session_ended

from kadosei.models import Refund
from tests.conftest import HttpsClient
from tests.factories import PASSWORD
from tests.payments.payments_support import MerchantApi, csrf_token, run_jobs


@pytest.fixture
def owner(factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    _, secret = factories.make_api_key(application, "test")
    return user.email, secret


@pytest.fixture
def shop(client, owner) -> MerchantApi:
    return MerchantApi(client, owner[1])


def _signed_in(app, email: str):
    app.test_client_class = HttpsClient
    browser = app.test_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    form = {"email": email, "password": PASSWORD, "csrf_token": token}
    assert browser.post("/login", data=form).status_code in (302, 303)
    return browser


def _refund_in_portal(browser, session_id: str, **fields):
    page = browser.get(f"/payments/{session_id}").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "amount": "", "reason": "", **fields}
    return browser.post(f"/payments/{session_id}/refunds", data=form)


def test_a_refund_from_the_payment_page_is_listed_and_in_the_timeline(app, owner, shop, customer):
    session = paid_session(shop, customer, amount=2000)
    browser = _signed_in(app, owner[0])
    page = browser.get(f"/payments/{session['id']}").get_data(as_text=True)
    assert f'action="/payments/{session["id"]}/refunds"' in page

    answer = _refund_in_portal(browser, session["id"], amount="5.00", reason="duplicate")

    assert answer.status_code in (302, 303)
    assert answer.headers["Location"].endswith(f"/payments/{session['id']}")
    made = Refund.query.one()
    assert made.amount == 500 and made.reason == "duplicate" and made.status == "pending"
    run_jobs(app)
    shown = html.unescape(browser.get(f"/payments/{session['id']}").get_data(as_text=True))
    assert made.id in shown and "timeline-refund" in shown
    assert "refund.succeeded" in shown  # the event, in the timeline
    assert shop.session(session["id"])["amount_refunded"] == 500
    # The API sees the same refund.
    assert shop.get(f"/refunds/{made.id}").json["status"] == "succeeded"


def test_the_portal_refuses_what_the_api_refuses_and_writes_nothing(app, owner, shop, customer):
    session = paid_session(shop, customer, amount=1000)
    browser = _signed_in(app, owner[0])

    for amount, said in (("1001", "At most 1000"), ("ten", "An amount is a number")):
        answer = _refund_in_portal(browser, session["id"], amount=amount)
        assert answer.status_code in (302, 303)
        page = html.unescape(browser.get(answer.headers["Location"]).get_data(as_text=True))
        assert said in page
    assert Refund.query.count() == 0


def test_a_blank_amount_refunds_all_that_is_left(app, owner, shop, customer):
    session = paid_session(shop, customer, amount=1000)
    browser = _signed_in(app, owner[0])
    _refund_in_portal(browser, session["id"], amount="250")

    _refund_in_portal(browser, session["id"])

    assert sorted(r.amount for r in Refund.query.all()) == [250, 750]
    page = browser.get(f"/payments/{session['id']}").get_data(as_text=True)
    assert f'action="/payments/{session["id"]}/refunds"' not in page  # nothing left


def test_no_refund_form_for_a_session_that_took_no_money(app, owner, shop):
    session = shop.create_session()
    browser = _signed_in(app, owner[0])

    page = browser.get(f"/payments/{session['id']}").get_data(as_text=True)
    posted = _refund_in_portal(browser, session["id"], amount="100")

    assert "/refunds" not in page.split('id="refunds"')[1]
    assert posted.status_code in (302, 303) and Refund.query.count() == 0
    shown = html.unescape(browser.get(posted.headers["Location"]).get_data(as_text=True))
    assert "took no money" in shown


def test_another_merchants_payment_cannot_be_refunded(app, factories, shop, customer):
    session = paid_session(shop, customer)
    _, stranger = factories.make_merchant()
    browser = _signed_in(app, stranger.email)
    token = csrf_token(browser.get("/payments").get_data(as_text=True))

    answer = browser.post(
        f"/payments/{session['id']}/refunds", data={"csrf_token": token, "amount": "100"}
    )

    assert answer.status_code == 404
    assert Refund.query.count() == 0


def test_a_refund_without_the_csrf_token_changes_nothing(app, owner, shop, customer):
    session = paid_session(shop, customer)
    browser = _signed_in(app, owner[0])

    answer = browser.post(f"/payments/{session['id']}/refunds", data={"amount": "100"})

    assert answer.status_code in (302, 303, 400)
    assert Refund.query.count() == 0


def test_a_conflicted_session_offers_a_refund_of_what_the_provider_took(app, owner, shop, customer):
    session = shop.create_session(amount=1200)
    pay_after_the_session_ended(app, customer.go_to_hosted_page(session), session, customer)
    browser = _signed_in(app, owner[0])
    page = browser.get(f"/payments/{session['id']}").get_data(as_text=True)
    assert "Conflict" in page and f'action="/payments/{session["id"]}/refunds"' in page

    _refund_in_portal(browser, session["id"], reason="duplicate")

    made = Refund.query.one()
    assert made.amount == 1200 and made.reason == "duplicate"
