"""Every rule of capture later through the API (docs/api.md §4.2): what can be captured and
how much, cancel as void, bad input, Idempotency-Key, tenant and mode isolation, and a
provider that fails mid-capture leaving everything as it was."""

from __future__ import annotations

import pytest

from kadosei.models import SessionTransition
from kadosei.sandbox.knobs import update_knobs
from tests.capture.capture_support import attempt_of, held_payment, sandbox_payment


def capture(merchant, session_id: str, body=None, *, key: str | None = None, headers=None):
    sent = dict(headers or merchant.headers)
    if key is not None:
        sent["Idempotency-Key"] = key
    return merchant.client.post(
        f"/api/v1/payment_sessions/{session_id}/capture", json=body, headers=sent
    )


def cancel(merchant, session_id: str, *, key: str | None = None):
    sent = dict(merchant.headers)
    if key is not None:
        sent["Idempotency-Key"] = key
    return merchant.client.post(f"/api/v1/payment_sessions/{session_id}/cancel", headers=sent)


def error_code(response) -> str:
    return response.json["error"]["code"]


# -- what can be captured, and how much ----------------------------------------------------


def test_more_than_the_authorised_amount_is_refused_and_nothing_changes(app, merchant, customer):
    held = held_payment(app, merchant, customer)

    response = capture(merchant, held["id"], {"amount": 2000})

    assert response.status_code == 422
    assert error_code(response) == "amount_exceeds_authorized"
    assert response.json["error"]["param"] == "amount"
    assert merchant.session(held["id"]) == held
    assert sandbox_payment(held["id"]).status == "authorized"


def test_exactly_the_authorised_amount_may_be_captured(app, merchant, customer):
    held = held_payment(app, merchant, customer)

    response = capture(merchant, held["id"], {"amount": 1999})

    assert response.status_code == 200 and response.json["amount_captured"] == 1999


def test_an_open_session_is_not_capturable(merchant):
    session = merchant.create_session(capture_method="manual")

    response = capture(merchant, session["id"])

    assert response.status_code == 422 and error_code(response) == "session_not_capturable"


def test_an_automatic_paid_session_is_not_capturable(app, merchant, customer):
    from tests.capture.capture_support import run_jobs

    session = merchant.create_session()
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4242424242424242")
    run_jobs(app)
    customer.follow(back)

    response = capture(merchant, session["id"])

    assert response.status_code == 422 and error_code(response) == "session_not_capturable"


def test_a_captured_session_cannot_be_captured_again_or_canceled(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    assert capture(merchant, held["id"], {"amount": 500}).status_code == 200

    again = capture(merchant, held["id"], {"amount": 500})
    canceled = cancel(merchant, held["id"])

    assert again.status_code == 422 and error_code(again) == "session_not_capturable"
    assert canceled.status_code == 422 and error_code(canceled) == "session_not_cancelable"
    assert merchant.session(held["id"])["amount_captured"] == 500


def test_a_voided_session_cannot_be_captured(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    assert cancel(merchant, held["id"]).status_code == 200

    response = capture(merchant, held["id"])

    assert response.status_code == 422 and error_code(response) == "session_not_capturable"
    assert sandbox_payment(held["id"]).status == "canceled"


def test_cancel_of_an_open_manual_session_still_just_cancels_it(merchant):
    session = merchant.create_session(capture_method="manual")

    response = cancel(merchant, session["id"])

    assert response.status_code == 200 and response.json["status"] == "canceled"


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"amount": 0}, "parameter_invalid", "amount"),
        ({"amount": -5}, "parameter_invalid", "amount"),
        ({"amount": "1000"}, "parameter_invalid", "amount"),
        ({"amount": 10.5}, "parameter_invalid", "amount"),
        ({"amount": True}, "parameter_invalid", "amount"),
        ({"amount": 100, "currency": "EUR"}, "parameter_unknown", "currency"),
    ],
)
def test_bad_capture_bodies_are_400_and_change_nothing(app, merchant, customer, body, code, param):
    held = held_payment(app, merchant, customer)

    response = capture(merchant, held["id"], body)

    assert response.status_code == 400, response.json
    assert (error_code(response), response.json["error"].get("param")) == (code, param)
    assert merchant.session(held["id"]) == held


def test_a_non_json_capture_body_is_415(app, merchant, customer):
    held = held_payment(app, merchant, customer)

    response = merchant.client.post(
        f"/api/v1/payment_sessions/{held['id']}/capture",
        data="amount=5",
        headers={**merchant.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415


@pytest.mark.parametrize("value", ["later", "MANUAL", 1, ""])
def test_an_unknown_capture_method_is_refused_at_creation(merchant, value):
    response = merchant.create(capture_method=value)

    assert response.status_code == 400
    assert response.json["error"]["param"] == "capture_method"


def test_an_unknown_session_is_404(merchant):
    response = capture(merchant, "ps_doesnotexist000000000000")

    assert response.status_code == 404 and error_code(response) == "resource_missing"


# -- tenant and mode isolation -------------------------------------------------------------


def test_another_merchants_key_cannot_capture_or_void(app, merchant, customer, factories):
    _, other = factories.make_api_key(factories.make_application(), "test")
    held = held_payment(app, merchant, customer)
    other_headers = {"Authorization": f"Bearer {other}"}

    captured = capture(merchant, held["id"], headers=other_headers)
    voided = merchant.client.post(
        f"/api/v1/payment_sessions/{held['id']}/cancel", headers=other_headers
    )

    assert captured.status_code == 404 and voided.status_code == 404
    assert merchant.session(held["id"])["status"] == "requires_capture"


def test_the_same_applications_live_key_cannot_capture_a_test_session(
    app, merchant, customer, factories, test_key
):
    _, live = factories.make_api_key(test_key[0], "live")
    held = held_payment(app, merchant, customer)

    response = capture(merchant, held["id"], headers={"Authorization": f"Bearer {live}"})

    assert response.status_code == 404
    assert merchant.session(held["id"])["status"] == "requires_capture"


# -- Idempotency-Key -----------------------------------------------------------------------


def test_a_replayed_capture_returns_the_first_answer_and_captures_once(app, merchant, customer):
    held = held_payment(app, merchant, customer)

    first = capture(merchant, held["id"], {"amount": 1200}, key="ship-order-42")
    again = capture(merchant, held["id"], {"amount": 1200}, key="ship-order-42")

    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    captures = SessionTransition.query.filter_by(session_id=held["id"], to_status="succeeded")
    assert captures.count() == 1


def test_the_same_key_with_another_amount_is_409(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    assert capture(merchant, held["id"], {"amount": 1200}, key="k-1").status_code == 200

    response = capture(merchant, held["id"], {"amount": 1300}, key="k-1")

    assert response.status_code == 409 and error_code(response) == "idempotency_key_reused"


def test_a_refused_capture_lets_its_key_be_used_again(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    refused = capture(merchant, held["id"], {"amount": 5000}, key="k-2")
    assert refused.status_code == 422

    corrected = capture(merchant, held["id"], {"amount": 1999}, key="k-2")

    assert corrected.status_code == 200 and corrected.json["status"] == "succeeded"


def test_a_replayed_void_returns_the_first_answer(app, merchant, customer):
    held = held_payment(app, merchant, customer)

    first = cancel(merchant, held["id"], key="void-1")
    again = cancel(merchant, held["id"], key="void-1")

    assert first.status_code == again.status_code == 200
    assert again.json == first.json and first.json["status"] == "canceled"


def test_a_capture_key_is_not_a_cancel_key(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    assert capture(merchant, held["id"], {"amount": 100}, key="shared").status_code == 200

    response = cancel(merchant, held["id"], key="shared")

    assert response.status_code == 409 and error_code(response) == "idempotency_key_reused"


# -- the provider fails --------------------------------------------------------------------


@pytest.mark.parametrize("knob", [{"down": True}, {"slow_ms": 2000}])
def test_a_provider_failing_at_capture_is_503_and_nothing_is_half_written(
    app, merchant, customer, knob
):
    held = held_payment(app, merchant, customer)
    provider = attempt_of(held["id"]).provider
    app.config["SANDBOX_TIMEOUT_SECONDS"] = 0.05
    update_knobs(provider, knob)

    response = capture(merchant, held["id"], {"amount": 1000}, key="retry-me")

    assert response.status_code == 503 and error_code(response) == "provider_unavailable"
    assert merchant.session(held["id"]) == held
    assert attempt_of(held["id"]).status == "authorized"
    assert sandbox_payment(held["id"]).status == "authorized"

    update_knobs(provider, {"down": False, "slow_ms": 0})
    retried = capture(merchant, held["id"], {"amount": 1000}, key="retry-me")
    assert retried.status_code == 200 and retried.json["amount_captured"] == 1000


def test_a_provider_failing_at_void_is_503_and_the_hold_stays(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    provider = attempt_of(held["id"]).provider
    update_knobs(provider, {"down": True})

    response = cancel(merchant, held["id"])

    assert response.status_code == 503 and error_code(response) == "provider_unavailable"
    assert merchant.session(held["id"])["status"] == "requires_capture"
    assert sandbox_payment(held["id"]).status == "authorized"


# -- the capture deadline in the API ---------------------------------------------------------


def test_a_held_session_says_by_when_to_capture_it(app, merchant, customer):
    from datetime import timedelta

    from kadosei.models.base import isoformat

    open_session = merchant.create_session(capture_method="manual")
    assert open_session["capture_before"] is None

    held = held_payment(app, merchant, customer)

    row = SessionTransition.query.filter_by(session_id=held["id"], to_status="requires_capture")
    window = timedelta(seconds=app.config["KADOSEI_CAPTURE_WINDOW"])
    assert held["capture_before"] == isoformat(row.one().created_at + window)
    events = merchant.get("/events", payment_session=held["id"], limit="100").json["data"]
    (announced,) = [e for e in events if e["type"] == "payment_session.requires_capture"]
    assert announced["data"]["object"]["capture_before"] == held["capture_before"]


def test_the_capture_deadline_follows_the_configured_window(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    app.config["KADOSEI_CAPTURE_WINDOW"] = 3600

    again = merchant.session(held["id"])

    assert again["capture_before"] < held["capture_before"]


def test_a_captured_or_voided_session_has_no_capture_deadline(app, merchant, customer):
    captured = held_payment(app, merchant, customer)
    voided = held_payment(app, merchant, customer)

    paid = merchant.post(f"/payment_sessions/{captured['id']}/capture").json
    canceled = merchant.post(f"/payment_sessions/{voided['id']}/cancel").json

    assert (paid["status"], paid["capture_before"]) == ("succeeded", None)
    assert (canceled["status"], canceled["capture_before"]) == ("canceled", None)
