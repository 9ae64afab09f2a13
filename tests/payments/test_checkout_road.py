"""The whole road through the real sandbox providers: create, checkout, hosted page, pay,
notification, return, final status and events (docs/api.md §4–§6)."""

from __future__ import annotations

import pytest
from payments_support import query_of, run_jobs

from kadosei.models import Attempt, ProviderNotification

SUCCESS = "https://shop.example/thanks"
CANCEL = "https://shop.example/cart"


def _session_id(url: str) -> str:
    return query_of(url)["session_id"][0]


def test_checkout_redirects_to_a_sandbox_hosted_page(merchant, customer):
    session = merchant.create_session()

    hosted = customer.go_to_hosted_page(session)

    assert "/sandbox/sandbox_" in hosted and "/pay/sbx_" in hosted
    attempt = Attempt.query.filter_by(session_id=session["id"]).one()
    assert attempt.status == "pending" and attempt.provider_reference in hosted
    assert attempt.explanation["strategy"] and attempt.explanation["rank"] == 1


def test_paying_with_4242_succeeds_and_returns_to_the_success_url(app, merchant, customer):
    session = merchant.create_session()
    hosted = customer.go_to_hosted_page(session)

    back = customer.pay_by_card(hosted, "4242 4242 4242 4242")
    run_jobs(app)  # the provider's signed notification
    destination = customer.follow(back)

    assert destination.startswith(SUCCESS)
    assert query_of(destination) == {"order": ["42"], "session_id": [session["id"]]}
    final = merchant.session(session["id"])
    assert final["status"] == "succeeded" and final["completed_at"] is not None
    assert final["failure"] is None and final["conflict"] is False
    assert merchant.event_types(session["id"]) == ["payment_session.succeeded"]
    event = merchant.get("/events", payment_session=session["id"]).json["data"][0]
    assert event["data"]["object"]["status"] == "succeeded"
    assert set(event["data"]["object"]) == set(final)
    notification = ProviderNotification.query.one()
    assert notification.effect == "applied" and notification.reported_status == "succeeded"


def test_the_return_confirms_with_the_provider_without_waiting_for_the_notification(
    merchant, customer
):
    session = merchant.create_session()
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4242424242424242")

    destination = customer.follow(back)  # no job has run: the look-up decided

    assert destination.startswith(SUCCESS)
    assert merchant.session(session["id"])["status"] == "succeeded"


@pytest.mark.parametrize(
    ("card", "code"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")],
)
def test_declined_cards_on_the_last_attempt_fail_and_return_to_the_cancel_url(
    app, merchant, customer, card, code
):
    session = merchant.create_session(max_attempts=1)  # retries: tests/retry
    back = customer.pay_by_card(customer.go_to_hosted_page(session), card)
    run_jobs(app)

    destination = customer.follow(back)

    assert destination.startswith(CANCEL) and _session_id(destination) == session["id"]
    final = merchant.session(session["id"])
    assert final["status"] == "failed"
    assert final["failure"]["code"] == code and final["failure"]["message"]
    assert merchant.event_types(session["id"]) == [
        "payment_session.attempt_failed",
        "payment_session.failed",
    ]


def test_the_delayed_card_is_processing_then_succeeds_when_the_sandbox_job_runs(
    app, merchant, customer
):
    session = merchant.create_session()
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4000000000000259")

    destination = customer.follow(back)

    assert destination.startswith(SUCCESS)
    assert merchant.session(session["id"])["status"] == "processing"
    run_jobs(app)  # the processing notification, the bank's confirmation, its notification
    final = merchant.session(session["id"])
    assert final["status"] == "succeeded"
    assert merchant.event_types(session["id"]) == [
        "payment_session.processing",
        "payment_session.succeeded",
    ]


def test_canceling_on_the_hosted_page_ends_the_session_canceled(app, merchant, customer):
    session = merchant.create_session()
    back = customer.press(customer.go_to_hosted_page(session), "cancel")
    run_jobs(app)

    destination = customer.follow(back)

    assert destination.startswith(CANCEL) and _session_id(destination) == session["id"]
    assert merchant.session(session["id"])["status"] == "canceled"
    assert merchant.event_types(session["id"]) == ["payment_session.canceled"]


@pytest.mark.parametrize(("action", "status"), [("authorize", "succeeded"), ("fail", "failed")])
def test_non_card_methods_use_the_authorize_and_fail_buttons(
    app, merchant, customer, action, status
):
    session = merchant.create_session(payment_method="ideal", max_attempts=1)
    back = customer.press(customer.go_to_hosted_page(session), action)
    run_jobs(app)
    customer.follow(back)

    assert merchant.session(session["id"])["status"] == status


def test_a_second_tab_goes_to_the_same_hosted_page(merchant, customer):
    session = merchant.create_session()

    first = customer.go_to_hosted_page(session)
    second = customer.go_to_hosted_page(session)

    assert first == second
    assert Attempt.query.filter_by(session_id=session["id"]).count() == 1


def test_a_paid_session_never_starts_a_new_payment(app, merchant, customer):
    session = merchant.create_session()
    customer.follow(customer.pay_by_card(customer.go_to_hosted_page(session), "4242424242424242"))

    page = customer.open_checkout(session)

    assert page.status_code == 200
    assert b"already complete" in page.data
    assert Attempt.query.filter_by(session_id=session["id"]).count() == 1


def test_the_return_never_trusts_the_query_string(merchant, customer):
    session = merchant.create_session()
    hosted = customer.go_to_hosted_page(session)
    attempt = Attempt.query.filter_by(session_id=session["id"]).one()

    forged = customer.client.get(
        f"/checkout/{session['id']}/return?attempt={attempt.id}&status=succeeded"
    )

    assert forged.status_code == 303
    assert merchant.session(session["id"])["status"] == "open"  # still pending at the provider
    assert hosted


def test_an_unknown_checkout_shows_a_friendly_404(customer):
    response = customer.client.get("/checkout/ps_doesnotexist000000000000000")

    assert response.status_code == 404
    assert b"could not find this payment" in response.data


def test_the_api_never_names_the_provider(merchant, customer):
    session = merchant.create_session()
    customer.go_to_hosted_page(session)

    body = merchant.session(session["id"])

    assert "provider" not in body and "sandbox" not in str(body)
