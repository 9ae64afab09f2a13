"""Capture and void on a payment's page in the portal (docs/api.md §8, §4.2): the same
service and rules as the API, post/redirect/get, each shown in the payment's timeline."""

from __future__ import annotations

import html
import re

import pytest

from tests.capture.capture_support import MerchantApi, csrf_token, held_payment, sandbox_payment
from tests.portal.payment_search_support import signed_in

FLASH = re.compile(r'class="flash flash-(\w+)"[^>]*>\s*(.*?)\s*<', re.S)


@pytest.fixture
def owner(factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    _, secret = factories.make_api_key(application, "test")
    return user, secret


@pytest.fixture
def merchant(client, owner) -> MerchantApi:
    return MerchantApi(client, owner[1])


@pytest.fixture
def browser(app, owner):
    return signed_in(app, owner[0])


def _page(browser, session_id: str) -> str:
    response = browser.get(f"/payments/{session_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _capture(browser, session_id: str, amount: str):
    token = csrf_token(_page(browser, session_id))
    return browser.post(
        f"/payments/{session_id}/capture", data={"csrf_token": token, "amount": amount}
    )


def _void(browser, session_id: str):
    token = csrf_token(_page(browser, session_id))
    return browser.post(f"/payments/{session_id}/void", data={"csrf_token": token})


def _flashes(browser, response) -> list[tuple[str, str]]:
    assert response.status_code == 303
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    return [(kind, html.unescape(text)) for kind, text in FLASH.findall(page)]


def test_a_held_payment_offers_capture_of_the_whole_amount_and_void(
    app, merchant, customer, browser
):
    held = held_payment(app, merchant, customer)

    page = _page(browser, held["id"])

    assert f'action="/payments/{held["id"]}/capture"' in page
    assert f'action="/payments/{held["id"]}/void"' in page
    assert 'value="19.99"' in page


def test_a_payment_that_is_not_held_offers_neither(merchant, browser):
    session = merchant.create_session(capture_method="manual")

    page = _page(browser, session["id"])

    assert "/capture" not in page and "/void" not in page


def test_capturing_part_in_the_portal_is_the_apis_capture(app, merchant, customer, browser):
    held = held_payment(app, merchant, customer)

    response = _capture(browser, held["id"], "12.50")

    assert response.headers["Location"].endswith(f"/payments/{held['id']}")
    assert _flashes(browser, response)[0][0] == "success"
    paid = merchant.session(held["id"])
    assert (paid["status"], paid["amount_captured"]) == ("succeeded", 1250)
    assert sandbox_payment(held["id"]).amount_captured == 1250
    page = _page(browser, held["id"])
    assert "captured 1250 of 1999 EUR (portal, " in page
    assert "/capture" not in page.split("Timeline")[0]


def test_more_than_is_held_is_refused_with_the_services_words(app, merchant, customer, browser):
    held = held_payment(app, merchant, customer)

    response = _capture(browser, held["id"], "20.00")

    kind, text = _flashes(browser, response)[0]
    assert kind == "error" and "exceeds the 1999 authorised" in text
    assert merchant.session(held["id"])["status"] == "requires_capture"


@pytest.mark.parametrize("typed", ["", "abc", "0", "1.999", "-3", "1,50"])
def test_what_is_not_an_amount_is_refused_and_nothing_changes(
    app, merchant, customer, browser, typed
):
    held = held_payment(app, merchant, customer)

    response = _capture(browser, held["id"], typed)

    assert _flashes(browser, response)[0][0] == "error"
    assert merchant.session(held["id"]) == held


def test_voiding_in_the_portal_cancels_at_the_provider(app, merchant, customer, browser):
    held = held_payment(app, merchant, customer)

    response = _void(browser, held["id"])

    assert _flashes(browser, response)[0][0] == "success"
    assert merchant.session(held["id"])["status"] == "canceled"
    assert sandbox_payment(held["id"]).status == "canceled"
    assert "authorisation voided in the portal by" in _page(browser, held["id"])


def test_a_form_without_its_csrf_token_changes_nothing(app, merchant, customer, browser):
    held = held_payment(app, merchant, customer)

    browser.post(f"/payments/{held['id']}/capture", data={"amount": "19.99"})
    browser.post(f"/payments/{held['id']}/void", data={})

    assert merchant.session(held["id"]) == held


def test_another_merchants_user_cannot_capture_or_void(app, merchant, customer, factories):
    held = held_payment(app, merchant, customer)
    _, stranger = factories.make_merchant()
    other = signed_in(app, stranger)
    token = csrf_token(other.get("/payments").get_data(as_text=True))

    captured = other.post(
        f"/payments/{held['id']}/capture", data={"csrf_token": token, "amount": "19.99"}
    )
    voided = other.post(f"/payments/{held['id']}/void", data={"csrf_token": token})

    assert captured.status_code == 404 and voided.status_code == 404
    assert merchant.session(held["id"]) == held


def test_a_payment_captured_meanwhile_is_not_captured_twice(app, merchant, customer, browser):
    held = held_payment(app, merchant, customer)
    token = csrf_token(_page(browser, held["id"]))  # the page as it was, buttons and all
    merchant.client.post(f"/api/v1/payment_sessions/{held['id']}/capture", headers=merchant.headers)

    response = browser.post(
        f"/payments/{held['id']}/capture", data={"csrf_token": token, "amount": "10.00"}
    )

    kind, text = _flashes(browser, response)[0]
    assert kind == "error" and "cannot be captured" in text
    assert merchant.session(held["id"])["amount_captured"] == 1999


def test_a_provider_away_is_said_plainly_and_the_hold_stays(app, merchant, customer, browser):
    from kadosei.sandbox.knobs import update_knobs
    from tests.capture.capture_support import attempt_of

    held = held_payment(app, merchant, customer)
    update_knobs(attempt_of(held["id"]).provider, {"down": True})

    response = _capture(browser, held["id"], "19.99")

    kind, text = _flashes(browser, response)[0]
    assert kind == "error" and "nothing changed" in text
    assert merchant.session(held["id"]) == held


def _deadline(session_id: str, app):
    """When the session was authorised plus the capture window, as the portal writes it."""
    from datetime import timedelta

    from kadosei.models import SessionTransition

    row = SessionTransition.query.filter_by(session_id=session_id, to_status="requires_capture")
    held_since = row.one().created_at
    deadline = held_since + timedelta(seconds=app.config["KADOSEI_CAPTURE_WINDOW"])
    return deadline.strftime("%Y-%m-%d %H:%M") + " UTC"


def test_a_held_payment_says_by_when_to_capture_it(app, merchant, customer, browser):
    held = held_payment(app, merchant, customer)

    page = _page(browser, held["id"])

    assert "Capture by <time" in page
    assert _deadline(held["id"], app) in page
    assert "kadosei voids the authorisation and the payment expires" in page


def test_the_payments_list_says_by_when_to_capture_a_held_payment(app, merchant, customer, browser):
    held = held_payment(app, merchant, customer)
    other = merchant.create_session()

    listing = browser.get("/payments").get_data(as_text=True)

    assert listing.count("Capture by") == 1
    row = next(r for r in listing.split("<tr>") if held["id"] in r)
    assert "Capture by" in row and _deadline(held["id"], app) in row
    assert "Capture by" not in next(r for r in listing.split("<tr>") if other["id"] in r)


def test_a_captured_payment_has_no_capture_deadline(app, merchant, customer, browser):
    held = held_payment(app, merchant, customer)
    assert _capture(browser, held["id"], "19.99").status_code == 303

    assert "Capture by" not in _page(browser, held["id"])
