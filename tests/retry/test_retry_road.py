"""A declined customer can try again (docs/api.md §4 Statuses, §5 steps 5–6, §7): the whole
road through the sandbox providers' hosted pages, the notifications and kadosei's page."""

from __future__ import annotations

from retry_support import (
    CANCEL,
    CSRF,
    DECLINED,
    NO_FUNDS,
    PAYS,
    SUCCESS,
    attempts_of,
    field,
    path_of,
    query_of,
    run_jobs,
)

from kadosei.models import PaymentSession
from tests.webhooks.webhook_support import Receiver


def _decline(app, customer, session, card=DECLINED) -> str:
    destination = customer.pay(customer.go_to_hosted_page(session), card)
    run_jobs(app)  # the provider's signed notification
    return destination


def test_a_decline_keeps_the_customer_on_kadoseis_page_with_the_session_open(
    app, merchant, customer
):
    session = merchant.create_session()

    destination = _decline(app, customer, session)

    assert destination == session["checkout_url"]
    html, form = customer.declined_page(session)
    assert "did not go through" in html and "Your card was declined." in html
    assert "Try again" in html and "Return to the shop" in html
    assert "card_declined" not in html and "sandbox" not in html.lower()
    (attempt,) = attempts_of(session)
    assert form["attempt"] == attempt.id
    body = merchant.session(session["id"])
    assert body["status"] == "open" and body["failure"] is None
    assert body["attempts_failed"] == 1
    assert body["last_failure"] == {
        "code": "card_declined",
        "message": "The card was declined.",
        "attempt": attempt.id,
    }
    assert merchant.event_types(session["id"]) == ["payment_session.attempt_failed"]


def test_the_reason_is_told_in_the_customers_words(app, merchant, customer):
    session = merchant.create_session()
    _decline(app, customer, session, NO_FUNDS)

    html, _ = customer.declined_page(session)

    assert "not enough money available on your card" in html
    assert "insufficient_funds" not in html


def test_try_again_after_a_decline_pays_at_another_provider_and_the_merchant_hears_both(
    app, client, factories, merchant, customer, account
):
    _, user, application, _ = account
    receiver = Receiver()
    try:
        created = client.post(
            f"/api/v1/applications/{application.id}/webhook_endpoints",
            json={"url": receiver.url, "mode": "test"},
            headers=factories.jwt_headers(user),
        )
        secret = created.get_json()["secret"]
        session = merchant.create_session()
        _decline(app, customer, session)

        again = customer.try_again(session)
        assert again.status_code == 303
        destination = customer.pay(again.headers["Location"], PAYS)
        run_jobs(app)  # the notification, then the webhook deliveries

        assert destination.startswith(SUCCESS)
        assert query_of(destination)["session_id"] == [session["id"]]
        first, second = attempts_of(session)
        assert (first.status, second.status) == ("failed", "succeeded")
        assert second.provider != first.provider
        body = merchant.session(session["id"])
        assert body["status"] == "succeeded" and body["failure"] is None
        assert body["attempts_failed"] == 1 and body["last_failure"]["attempt"] == first.id
        assert merchant.event_types(session["id"]) == [
            "payment_session.attempt_failed",
            "payment_session.succeeded",
        ]
        received = receiver.wait_for(2)
        payloads = sorted((r.verify(secret) for r in received), key=lambda p: p["created_at"])
        assert [p["type"] for p in payloads] == [
            "payment_session.attempt_failed",
            "payment_session.succeeded",
        ]
        assert payloads[0]["data"]["object"]["status"] == "open"
        assert payloads[0]["data"]["object"]["last_failure"]["code"] == "card_declined"
    finally:
        receiver.close()


def test_return_to_the_shop_after_a_decline_fails_the_session(app, merchant, customer):
    session = merchant.create_session()
    _decline(app, customer, session)

    response = customer.return_to_shop(session)

    assert response.status_code == 303
    destination = response.headers["Location"]
    assert destination.startswith(CANCEL) and query_of(destination)["session_id"] == [session["id"]]
    body = merchant.session(session["id"])
    assert body["status"] == "failed"
    assert body["failure"] == {"code": "card_declined", "message": "The card was declined."}
    assert merchant.event_types(session["id"]) == [
        "payment_session.attempt_failed",
        "payment_session.failed",
    ]


def test_max_attempts_1_ends_the_session_at_the_first_decline(app, merchant, customer):
    session = merchant.create_session(max_attempts=1)

    destination = _decline(app, customer, session, NO_FUNDS)

    assert destination.startswith(CANCEL)
    body = merchant.session(session["id"])
    assert body["status"] == "failed" and body["attempts_failed"] == 1
    assert body["failure"]["code"] == "insufficient_funds"
    assert merchant.event_types(session["id"]) == [
        "payment_session.attempt_failed",
        "payment_session.failed",
    ]


def test_the_session_fails_when_every_allowed_attempt_was_declined(app, merchant, customer):
    session = merchant.create_session(max_attempts=2)
    assert _decline(app, customer, session) == session["checkout_url"]

    again = customer.try_again(session)
    destination = customer.pay(again.headers["Location"], NO_FUNDS)
    run_jobs(app)

    assert destination.startswith(CANCEL)
    body = merchant.session(session["id"])
    assert body["status"] == "failed" and body["attempts_failed"] == 2
    assert body["failure"] == {
        "code": "insufficient_funds",
        "message": "The card has insufficient funds.",
    }
    assert merchant.event_types(session["id"]) == [
        "payment_session.attempt_failed",
        "payment_session.attempt_failed",
        "payment_session.failed",
    ]


def test_the_last_try_says_so(app, merchant, customer):
    session = merchant.create_session(max_attempts=2)
    _decline(app, customer, session)

    html, _ = customer.declined_page(session)

    assert "last try" in html


def test_a_failed_sessions_checkout_url_never_starts_a_new_payment(app, merchant, customer):
    session = merchant.create_session()
    _decline(app, customer, session)
    _, form = customer.declined_page(session)
    customer.return_to_shop(session)

    page = customer.open_checkout(session)
    stale = customer.try_again(session, form)

    assert page.status_code == 200 and b"did not go through" in page.data
    assert b"Try again" not in page.data
    assert stale.status_code == 303 and path_of(stale.headers["Location"]) == (
        f"/checkout/{session['id']}"
    )
    assert len(attempts_of(session)) == 1


def test_pressing_try_again_twice_never_makes_two_live_attempts(app, merchant, customer):
    session = merchant.create_session()
    _decline(app, customer, session)
    _, form = customer.declined_page(session)

    first = customer.try_again(session, form)
    second = customer.try_again(session, form)  # a double submit, or the back button

    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    statuses = [attempt.status for attempt in attempts_of(session)]
    assert statuses == ["failed", "pending"]


def test_an_old_try_again_form_after_a_second_decline_starts_nothing(app, merchant, customer):
    session = merchant.create_session()
    _decline(app, customer, session)
    _, old_form = customer.declined_page(session)
    customer.pay(customer.try_again(session, old_form).headers["Location"], DECLINED)
    run_jobs(app)

    stale = customer.try_again(session, old_form)

    assert path_of(stale.headers["Location"]) == f"/checkout/{session['id']}"
    assert [a.status for a in attempts_of(session)] == ["failed", "failed"]
    _, new_form = customer.declined_page(session)
    assert new_form["attempt"] == attempts_of(session)[1].id


def test_try_again_needs_the_pages_csrf_token(app, merchant, customer):
    session = merchant.create_session()
    _decline(app, customer, session)
    _, form = customer.declined_page(session)

    forged = customer.client.post(
        f"/checkout/{session['id']}/retry", data={"attempt": form["attempt"]}
    )
    give_up = customer.client.post(f"/checkout/{session['id']}/give_up")

    assert forged.status_code == give_up.status_code == 400
    assert len(attempts_of(session)) == 1
    assert PaymentSession.query.filter_by(id=session["id"]).one().status == "open"


def test_the_decline_counts_when_only_the_notification_arrived(app, merchant, customer):
    session = merchant.create_session()
    hosted = customer.go_to_hosted_page(session)
    page = customer.client.get(path_of(hosted))
    token = field(CSRF, page.get_data(as_text=True))
    customer.client.post(path_of(hosted), data={"csrf_token": token, "card_number": DECLINED})
    run_jobs(app)  # the customer closed the tab: only the provider's notification arrives

    body = merchant.session(session["id"])
    assert body["status"] == "open" and body["attempts_failed"] == 1
    html, _ = customer.declined_page(session)  # coming back later, they may try again
    assert "did not go through" in html


def test_a_decline_of_a_processing_payment_ends_the_session_at_once(app, merchant, customer):
    from tests.payments.payments_support import post_notification, signed_notification

    session = merchant.create_session()
    destination = customer.pay(customer.go_to_hosted_page(session), "4000000000000259")
    assert destination.startswith(SUCCESS)  # processing: the customer went back to the shop
    (attempt,) = attempts_of(session)

    provider, body, headers = signed_notification(
        attempt.provider_reference,
        "failed",
        failure_code="card_declined",
        failure_message="The card was declined.",
    )
    assert post_notification(customer.client, provider, body, headers).status_code == 200

    final = merchant.session(session["id"])
    assert final["status"] == "failed" and final["attempts_failed"] == 1
    assert final["failure"]["code"] == "card_declined"
    assert merchant.event_types(session["id"]) == [
        "payment_session.processing",
        "payment_session.attempt_failed",
        "payment_session.failed",
    ]
