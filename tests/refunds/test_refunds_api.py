"""Refunds through the API on the sandbox PSPs (docs/api.md §4.3): full, partial, several,
defaults, limits, sessions that took no money, conflicts, idempotency, isolation, bad input."""

from __future__ import annotations

import pytest
from refunds_support import (
    SANDBOXES,
    attempt_of,
    only_sandbox,
    paid_session,
    pay_after_the_session_ended,
    refund,
    refund_event_types,
)

from kadosei.models import Refund
from kadosei.sandbox.models import SandboxRefund
from tests.payments.payments_support import run_jobs


@pytest.mark.parametrize("provider", SANDBOXES)
def test_a_full_refund_is_pending_then_succeeds_by_the_providers_signed_notification(
    app, merchant, customer, provider
):
    only_sandbox(provider)
    session = paid_session(merchant, customer)
    assert session["amount_captured"] == 1999 and session["amount_refunded"] == 0

    created = refund(merchant, {"payment_session": session["id"]})

    assert created.status_code == 201, created.json
    body = created.json
    assert body["object"] == "refund" and body["id"].startswith("re_")
    assert body["status"] == "pending" and body["amount"] == 1999 and body["currency"] == "EUR"
    assert body["payment_session"] == session["id"] and body["failure"] is None
    row = Refund.query.filter_by(id=body["id"]).one()
    assert row.provider == provider and row.attempt_id == attempt_of(session).id
    assert row.provider_refund_reference.startswith("sbr_")

    run_jobs(app)  # the PSP settles the refund and sends its signed notification

    done = merchant.get(f"/refunds/{body['id']}").json
    assert done["status"] == "succeeded" and done["completed_at"] is not None
    assert merchant.session(session["id"])["amount_refunded"] == 1999
    assert refund_event_types(merchant, session["id"]) == ["refund.created", "refund.succeeded"]
    event = merchant.get("/events", type="refund.succeeded").json["data"][0]
    assert event["data"]["object"] == done


def test_partial_refunds_add_up_and_the_default_is_what_is_still_refundable(
    app, merchant, customer
):
    session = paid_session(merchant, customer, amount=1000)

    first = refund(merchant, {"payment_session": session["id"], "amount": 300})
    second = refund(merchant, {"payment_session": session["id"], "amount": 200})
    rest = refund(merchant, {"payment_session": session["id"], "reason": "requested_by_customer"})

    assert [r.status_code for r in (first, second, rest)] == [201, 201, 201]
    assert rest.json["amount"] == 500 and rest.json["reason"] == "requested_by_customer"
    run_jobs(app)
    assert merchant.session(session["id"])["amount_refunded"] == 1000
    listed = merchant.get("/refunds", payment_session=session["id"]).json
    assert [r["amount"] for r in listed["data"]] == [500, 200, 300]  # newest first
    assert {r["status"] for r in listed["data"]} == {"succeeded"}


def test_more_than_is_refundable_is_422_and_changes_nothing(app, merchant, customer):
    session = paid_session(merchant, customer, amount=1000)
    assert refund(merchant, {"payment_session": session["id"], "amount": 600}).status_code == 201

    too_much = refund(merchant, {"payment_session": session["id"], "amount": 401})

    assert too_much.status_code == 422
    assert too_much.json["error"]["code"] == "amount_exceeds_refundable"
    assert too_much.json["error"]["param"] == "amount"
    assert "400" in too_much.json["error"]["message"]
    assert Refund.query.count() == 1
    assert refund(merchant, {"payment_session": session["id"], "amount": 400}).status_code == 201
    nothing_left = refund(merchant, {"payment_session": session["id"]})
    assert nothing_left.status_code == 422
    assert nothing_left.json["error"]["code"] == "amount_exceeds_refundable"


@pytest.mark.parametrize("ending", ["open", "canceled", "failed"])
def test_a_session_that_took_no_money_is_not_refundable(merchant, customer, ending):
    session = merchant.create_session()
    if ending == "canceled":
        assert merchant.post(f"/payment_sessions/{session['id']}/cancel").status_code == 200
    elif ending == "failed":
        hosted = customer.go_to_hosted_page(session)
        customer.follow(customer.pay_by_card(hosted, "4000000000000002"))
        customer.client.post(f"/checkout/{session['id']}/give_up")

    answer = refund(merchant, {"payment_session": session["id"]})

    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "session_not_refundable"
    assert Refund.query.count() == 0


def test_a_refund_ending_in_13_fails_and_its_amount_is_refundable_again(app, merchant, customer):
    session = paid_session(merchant, customer, amount=2000)

    failing = refund(merchant, {"payment_session": session["id"], "amount": 1013})
    assert failing.status_code == 201 and failing.json["status"] == "pending"
    run_jobs(app)

    failed = merchant.get(f"/refunds/{failing.json['id']}").json
    assert failed["status"] == "failed"
    assert failed["failure"]["code"] == "refund_declined"
    assert refund_event_types(merchant, session["id"]) == ["refund.created", "refund.failed"]
    assert merchant.session(session["id"])["amount_refunded"] == 0
    again = refund(merchant, {"payment_session": session["id"]})
    assert again.status_code == 201 and again.json["amount"] == 2000


def test_the_same_idempotency_key_and_body_returns_the_first_refund_again(merchant, customer):
    session = paid_session(merchant, customer)
    body = {"payment_session": session["id"], "amount": 100, "metadata": {"ticket": "T-1"}}

    first = refund(merchant, body, key="refund-1")
    again = refund(merchant, dict(reversed(list(body.items()))), key="refund-1")
    other_body = refund(merchant, {**body, "amount": 101}, key="refund-1")

    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert other_body.status_code == 409
    assert other_body.json["error"]["code"] == "idempotency_key_reused"
    assert Refund.query.count() == 1 and SandboxRefund.query.count() == 1


def test_a_refused_refund_does_not_keep_its_idempotency_key(merchant, customer):
    session = paid_session(merchant, customer, amount=500)

    refused = refund(merchant, {"payment_session": session["id"], "amount": 501}, key="k")
    assert refused.status_code == 422
    retried = refund(merchant, {"payment_session": session["id"], "amount": 500}, key="k")

    assert retried.status_code == 201


def test_another_applications_or_modes_session_and_refund_are_404(
    client, factories, test_key, merchant, customer
):
    application, _ = test_key
    session = paid_session(merchant, customer)
    made = refund(merchant, {"payment_session": session["id"], "amount": 100}).json
    _, live_secret = factories.make_api_key(application, "live")
    _, stranger_secret = factories.make_api_key(factories.make_application(), "test")

    for secret in (live_secret, stranger_secret):
        headers = factories.key_headers(secret)
        created = client.post(
            "/api/v1/refunds", json={"payment_session": session["id"]}, headers=headers
        )
        assert created.status_code == 404
        assert created.json["error"]["code"] == "resource_missing"
        assert client.get(f"/api/v1/refunds/{made['id']}", headers=headers).status_code == 404
        listed = client.get("/api/v1/refunds", headers=headers).json
        assert listed["data"] == []
    assert Refund.query.count() == 1


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({}, "parameter_missing", "payment_session"),
        ({"payment_session": "ps_x", "amount": 0}, "parameter_invalid", "amount"),
        ({"payment_session": "ps_x", "amount": "5"}, "parameter_invalid", "amount"),
        ({"payment_session": "ps_x", "amount": 1.5}, "parameter_invalid", "amount"),
        ({"payment_session": "ps_x", "reason": "changed_mind"}, "parameter_invalid", "reason"),
        ({"payment_session": "ps_x", "metadata": {"k": 1}}, "parameter_invalid", "metadata"),
        ({"payment_session": "ps_x", "currency": "EUR"}, "parameter_unknown", "currency"),
        ({"payment_session": 5}, "parameter_invalid", "payment_session"),
    ],
)
def test_bad_input_is_a_400_envelope(merchant, body, code, param):
    answer = merchant.client.post("/api/v1/refunds", json=body, headers=merchant.headers)

    assert answer.status_code == 400
    assert answer.json["error"]["code"] == code
    assert answer.json["error"]["param"].split(".")[0] == param


def test_an_unknown_session_is_404_and_a_bad_list_query_400(merchant):
    missing = refund(merchant, {"payment_session": "ps_doesnotexist"})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "resource_missing"
    assert merchant.get("/refunds", limit="0").status_code == 400
    assert merchant.get("/refunds/re_nothing").status_code == 404
    assert merchant.get("/refunds", starting_after="re_nothing").status_code == 404


def test_refunds_page_newest_first_without_gaps(merchant, customer):
    session = paid_session(merchant, customer, amount=1000)
    made = [
        refund(merchant, {"payment_session": session["id"], "amount": 10}).json["id"]
        for _ in range(5)
    ]

    first = merchant.get("/refunds", limit="2").json
    second = merchant.get("/refunds", limit="2", starting_after=first["data"][-1]["id"]).json
    third = merchant.get("/refunds", limit="2", starting_after=second["data"][-1]["id"]).json

    seen = [r["id"] for page in (first, second, third) for r in page["data"]]
    assert seen == list(reversed(made))
    assert first["has_more"] and second["has_more"] and not third["has_more"]


def test_a_conflicted_session_is_refundable_for_what_the_provider_took(app, merchant, customer):
    session = merchant.create_session(amount=1500)
    hosted = customer.go_to_hosted_page(session)
    pay_after_the_session_ended(app, hosted, session, customer)
    conflicted = merchant.session(session["id"])
    assert conflicted["conflict"] is True and conflicted["status"] != "succeeded"

    too_much = refund(merchant, {"payment_session": session["id"], "amount": 1501})
    whole = refund(merchant, {"payment_session": session["id"], "reason": "duplicate"})

    assert too_much.status_code == 422
    assert too_much.json["error"]["code"] == "amount_exceeds_refundable"
    assert whole.status_code == 201 and whole.json["amount"] == 1500
    run_jobs(app)
    assert merchant.get(f"/refunds/{whole.json['id']}").json["status"] == "succeeded"
    assert merchant.session(session["id"])["amount_refunded"] == 1500
