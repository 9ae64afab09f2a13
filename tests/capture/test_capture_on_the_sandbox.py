"""Capture later on each sandbox provider (docs/api.md §4.2, §5 step 5): a manual session is
authorised and held (``requires_capture``, the customer sent to ``success_url``), then
captured whole or in part, or voided — at the provider, confirmed by its signed notifications."""

from __future__ import annotations

import pytest

from kadosei.models import ProviderNotification
from tests.capture.capture_support import (
    SANDBOXES,
    attempt_of,
    held_payment,
    pin,
    run_jobs,
    sandbox_payment,
)


@pytest.fixture(params=SANDBOXES)
def provider(request, test_key) -> str:
    pin(test_key[0], request.param)
    return request.param


def test_a_manual_session_says_so_and_has_captured_nothing(merchant):
    session = merchant.create_session(capture_method="manual")

    assert session["capture_method"] == "manual"
    assert session["amount_captured"] == 0
    assert session["status"] == "open"


def test_an_automatic_session_takes_its_whole_amount_when_it_succeeds(app, merchant, customer):
    session = merchant.create_session()
    assert session["capture_method"] == "automatic"
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4242424242424242")
    run_jobs(app)
    customer.follow(back)

    paid = merchant.session(session["id"])
    assert paid["status"] == "succeeded" and paid["amount_captured"] == 1999


def test_an_authorised_payment_is_held_and_the_customer_goes_to_success_url(
    app, merchant, customer, provider
):
    held = held_payment(app, merchant, customer)

    assert held["status"] == "requires_capture"
    assert held["amount_captured"] == 0 and held["completed_at"] is None
    assert merchant.event_types(held["id"]) == ["payment_session.requires_capture"]
    assert sandbox_payment(held["id"]).status == "authorized"
    assert attempt_of(held["id"]).status == "authorized"


def test_capturing_all_of_it_succeeds_at_the_provider(app, merchant, customer, provider):
    held = held_payment(app, merchant, customer)

    response = merchant.client.post(
        f"/api/v1/payment_sessions/{held['id']}/capture", headers=merchant.headers
    )

    assert response.status_code == 200, response.json
    assert response.json["status"] == "succeeded"
    assert response.json["amount_captured"] == 1999
    assert response.json["completed_at"] is not None
    assert merchant.session(held["id"]) == response.json
    at_provider = sandbox_payment(held["id"])
    assert (at_provider.status, at_provider.amount_captured) == ("succeeded", 1999)
    assert merchant.event_types(held["id"]) == [
        "payment_session.requires_capture",
        "payment_session.succeeded",
    ]


def test_capturing_part_of_it_releases_the_rest(app, merchant, customer, provider):
    held = held_payment(app, merchant, customer)

    response = merchant.client.post(
        f"/api/v1/payment_sessions/{held['id']}/capture",
        json={"amount": 1500},
        headers=merchant.headers,
    )

    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["amount_captured"]) == ("succeeded", 1500)
    assert response.json["amount"] == 1999
    assert sandbox_payment(held["id"]).amount_captured == 1500


def test_the_providers_signed_capture_notification_changes_nothing_more(
    app, merchant, customer, provider
):
    held = held_payment(app, merchant, customer)
    captured = merchant.client.post(
        f"/api/v1/payment_sessions/{held['id']}/capture",
        json={"amount": 1000},
        headers=merchant.headers,
    ).json

    run_jobs(app)  # the provider's notification of the capture

    assert merchant.session(held["id"]) == captured
    effects = [n.effect for n in ProviderNotification.query.order_by(ProviderNotification.pk)]
    assert effects == ["applied", "duplicate"]


def test_cancel_voids_the_authorisation_at_the_provider(app, merchant, customer, provider):
    held = held_payment(app, merchant, customer)

    response = merchant.client.post(
        f"/api/v1/payment_sessions/{held['id']}/cancel", headers=merchant.headers
    )

    assert response.status_code == 200, response.json
    assert response.json["status"] == "canceled"
    assert response.json["amount_captured"] == 0
    assert sandbox_payment(held["id"]).status == "canceled"
    run_jobs(app)  # the provider's CANCELLATION-like notification: nothing more changes
    assert merchant.session(held["id"])["status"] == "canceled"
    assert merchant.event_types(held["id"]) == [
        "payment_session.requires_capture",
        "payment_session.canceled",
    ]


def test_a_delayed_card_is_held_once_its_bank_confirms(app, merchant, customer, provider):
    session = merchant.create_session(capture_method="manual")
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4000000000000259")
    run_jobs(app)  # processing, then the bank confirms: authorised, not captured
    customer.follow(back)

    held = merchant.session(session["id"])
    assert held["status"] == "requires_capture"
    assert sandbox_payment(session["id"]).status == "authorized"


def test_a_declined_card_fails_a_manual_session_as_any_other(app, merchant, customer, provider):
    session = merchant.create_session(capture_method="manual")
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4000000000000002")
    run_jobs(app)
    customer.follow(back)

    assert merchant.session(session["id"])["status"] != "requires_capture"
    assert sandbox_payment(session["id"]).status == "failed"


def test_the_checkout_link_of_a_held_payment_says_it_is_authorised(app, merchant, customer):
    held = held_payment(app, merchant, customer)

    page = customer.open_checkout(held)

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Your payment is authorised" in text and "did not go through" not in text
    assert "https://shop.example/thanks" in text
