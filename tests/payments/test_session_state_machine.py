"""The state machine under real provider notifications (docs/api.md §4 Statuses, §5 step 4):
terminal states are final; duplicate, out-of-order and forged notifications change nothing;
a success after the session ended is flagged as a conflict, never lost."""

from __future__ import annotations

import pytest
from payments_support import post_notification, run_jobs, signed_notification

from kadosei.models import Attempt, PaymentSession, ProviderNotification, SessionTransition
from kadosei.services import session_state


def _paid(app, merchant, customer, card="4242424242424242") -> tuple[dict, Attempt]:
    session = merchant.create_session()
    back = customer.pay_by_card(customer.go_to_hosted_page(session), card)
    run_jobs(app)  # the notification arrives before the customer is back
    customer.follow(back)
    return session, Attempt.query.filter_by(session_id=session["id"]).one()


def _started(merchant, customer) -> tuple[dict, Attempt]:
    session = merchant.create_session()
    customer.go_to_hosted_page(session)
    return session, Attempt.query.filter_by(session_id=session["id"]).one()


def test_a_duplicate_notification_is_recorded_and_changes_nothing(app, client, merchant, customer):
    session, attempt = _paid(app, merchant, customer)
    before = merchant.session(session["id"])

    response = post_notification(
        client, *signed_notification(attempt.provider_reference, "succeeded")
    )

    assert response.status_code == 200 and response.json == {"received": True}
    assert merchant.session(session["id"]) == before
    assert merchant.event_types(session["id"]) == ["payment_session.succeeded"]
    effects = [n.effect for n in ProviderNotification.query.order_by(ProviderNotification.pk)]
    assert effects == ["applied", "duplicate"]


def test_an_out_of_order_processing_after_success_changes_nothing(app, client, merchant, customer):
    session, attempt = _paid(app, merchant, customer)

    post_notification(client, *signed_notification(attempt.provider_reference, "processing"))

    assert merchant.session(session["id"])["status"] == "succeeded"
    latest = ProviderNotification.query.order_by(ProviderNotification.pk.desc()).first()
    assert latest.effect == "out_of_order"


def test_a_failure_after_success_never_unpays_the_session(app, client, merchant, customer):
    session, attempt = _paid(app, merchant, customer)

    post_notification(
        client,
        *signed_notification(attempt.provider_reference, "failed", failure_code="card_declined"),
    )

    final = merchant.session(session["id"])
    assert final["status"] == "succeeded" and final["failure"] is None
    assert merchant.event_types(session["id"]) == ["payment_session.succeeded"]


def test_processing_arriving_after_success_in_the_wrong_order_keeps_the_success(
    app, client, merchant, customer
):
    session, attempt = _started(merchant, customer)
    reference = attempt.provider_reference

    post_notification(client, *signed_notification(reference, "succeeded"))
    post_notification(client, *signed_notification(reference, "processing"))

    assert merchant.session(session["id"])["status"] == "succeeded"
    assert merchant.event_types(session["id"]) == ["payment_session.succeeded"]


def test_a_late_success_after_cancel_is_flagged_as_a_conflict(client, merchant, customer):
    session, attempt = _started(merchant, customer)
    assert merchant.post(f"/payment_sessions/{session['id']}/cancel").status_code == 200

    response = post_notification(
        client, *signed_notification(attempt.provider_reference, "succeeded")
    )

    assert response.status_code == 200
    final = merchant.session(session["id"])
    assert final["status"] == "canceled" and final["conflict"] is True
    assert merchant.event_types(session["id"]) == [
        "payment_session.canceled",
        "payment_session.conflict",
    ]
    conflict_event = merchant.get("/events", type="payment_session.conflict").json["data"][0]
    assert conflict_event["data"]["object"]["conflict"] is True
    assert Attempt.query.filter_by(id=attempt.id).one().status == "succeeded"
    assert ProviderNotification.query.one().effect == "conflict"


def test_a_late_success_after_expiry_is_flagged_as_a_conflict(client, merchant, customer, db):
    session, attempt = _started(merchant, customer)
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    session_state.transition(row, "expired", cause="test: expired")
    db.session.commit()

    post_notification(client, *signed_notification(attempt.provider_reference, "succeeded"))
    post_notification(client, *signed_notification(attempt.provider_reference, "succeeded"))

    final = merchant.session(session["id"])
    assert final["status"] == "expired" and final["conflict"] is True
    assert merchant.event_types(session["id"]).count("payment_session.conflict") == 1


def test_a_forged_notification_is_400_and_changes_nothing(client, merchant, customer):
    session, attempt = _started(merchant, customer)
    provider, body, headers = signed_notification(attempt.provider_reference, "succeeded")
    tampered_body = body.replace(b"1999", b"1")
    other_provider = next(p for p in ("sandbox_lumen", "sandbox_harbor") if p != provider)

    tampered = post_notification(client, provider, tampered_body, headers)
    elsewhere = post_notification(client, other_provider, body, headers)
    garbage = post_notification(client, provider, b"not json", headers)

    assert tampered_body != body
    for response in (tampered, elsewhere, garbage):
        assert response.status_code == 400
        assert response.json["error"]["type"] == "invalid_request_error"
    assert merchant.session(session["id"])["status"] == "open"
    assert ProviderNotification.query.count() == 0
    assert Attempt.query.filter_by(id=attempt.id).one().status == "pending"


DEEP = b'{"a": ' + b"[" * 600 + b"]" * 600 + b"}"


@pytest.mark.parametrize(
    ("provider", "body", "headers"),
    [
        # Lumen's timestamp: thousands of digits (int() refused it) or a non-ASCII digit.
        ("sandbox_lumen", b"{}", {"Lumen-Signature": "t=" + "9" * 5000 + ",v1=00"}),
        ("sandbox_lumen", b"{}", {"Lumen-Signature": "t=\u00b2,v1=00"}),
        ("sandbox_lumen", b"{}", {"Lumen-Signature": "t=1,v1=\u00e9"}),
        # Harbor signs fields inside the body, so it must parse first: a deep body.
        ("sandbox_harbor", DEEP, {}),
        ("sandbox_harbor", b"[" * 100000 + b"]" * 100000, {}),
        ("sandbox_orbit", DEEP, {"X-Orbit-Signature": "\u00e9"}),
    ],
)
def test_a_malformed_signature_or_body_is_400_and_changes_nothing(
    client, merchant, customer, provider, body, headers
):
    session, attempt = _started(merchant, customer)

    response = post_notification(client, provider, body, headers)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "notification_invalid"
    assert merchant.session(session["id"])["status"] == "open"
    assert ProviderNotification.query.count() == 0
    assert Attempt.query.filter_by(id=attempt.id).one().status == "pending"


def test_a_notification_for_an_unknown_provider_is_404(client):
    response = client.post("/providers/nopsp/notifications", data=b"{}")

    assert response.status_code == 404
    assert response.json["error"]["code"] == "resource_missing"


def test_a_verified_notification_for_an_unknown_payment_is_recorded(client, merchant, customer):
    _, attempt = _started(merchant, customer)
    provider, body, headers = signed_notification(attempt.provider_reference, "succeeded")
    Attempt.query.filter_by(id=attempt.id).one().provider_reference = "sbx_elsewhere"
    from kadosei.extensions import db

    db.session.commit()

    response = post_notification(client, provider, body, headers)

    assert response.status_code == 200
    assert ProviderNotification.query.one().effect == "unknown_payment"


def test_every_transition_is_recorded_with_its_cause(app, merchant, customer):
    session, _ = _paid(app, merchant, customer, card="4000000000000259")

    transitions = SessionTransition.query.filter_by(session_id=session["id"]).all()

    assert [(t.from_status, t.to_status) for t in transitions] == [
        ("open", "processing"),
        ("processing", "succeeded"),
    ]
    assert all(t.cause and t.created_at for t in transitions)


@pytest.mark.parametrize("final", ["succeeded", "failed", "canceled", "expired"])
def test_nothing_moves_a_session_out_of_a_final_state(merchant, db, final):
    session = merchant.create_session()
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    session_state.transition(row, final, cause="test")
    db.session.commit()

    for target in ("open", "processing", "succeeded", "failed", "canceled", "expired"):
        if target != final:
            with pytest.raises(session_state.IllegalTransition):
                session_state.transition(row, target, cause="test")
    assert merchant.session(session["id"])["status"] == final
