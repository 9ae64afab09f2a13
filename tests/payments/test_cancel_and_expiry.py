"""Cancel (docs/api.md §4 Other calls) and expiry by time (§4 Statuses): the provider-side
checkout is ended first; a payment under way keeps the session open; processing never
expires."""

from __future__ import annotations

from datetime import timedelta

from payments_support import run_jobs

from kadosei.jobs.sweeps import run_sweeps
from kadosei.models import Attempt, PaymentSession, SessionTransition
from kadosei.models.base import utcnow
from kadosei.sandbox.models import SandboxPayment
from kadosei.services import session_state


def _attempt(session: dict) -> Attempt:
    return Attempt.query.filter_by(session_id=session["id"]).one()


def _sandbox_status(attempt: Attempt) -> str:
    return SandboxPayment.query.filter_by(id=attempt.provider_reference).one().status


def _past_expiry(session: dict, db) -> None:
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_an_open_session_is_canceled(merchant):
    session = merchant.create_session()

    response = merchant.post(f"/payment_sessions/{session['id']}/cancel")

    assert response.status_code == 200
    assert response.json["status"] == "canceled" and response.json["completed_at"]
    assert merchant.event_types(session["id"]) == ["payment_session.canceled"]


def test_cancel_ends_the_checkout_at_the_provider_first(merchant, customer):
    session = merchant.create_session()
    hosted = customer.go_to_hosted_page(session)

    merchant.post(f"/payment_sessions/{session['id']}/cancel")

    attempt = _attempt(session)
    assert attempt.status == "expired" and _sandbox_status(attempt) == "expired"
    page = customer.client.get(hosted.removeprefix("https://kadosei.test"))
    assert b"expired" in page.data and b"card_number" not in page.data


def test_cancel_while_the_customer_is_paying_is_422(merchant, customer):
    session = merchant.create_session()
    customer.pay_by_card(customer.go_to_hosted_page(session), "4000000000000259")

    response = merchant.post(f"/payment_sessions/{session['id']}/cancel")

    assert response.status_code == 422
    assert response.json["error"]["code"] == "session_not_cancelable"
    assert merchant.session(session["id"])["status"] == "open"


def test_only_an_open_session_can_be_canceled(app, merchant, customer):
    session = merchant.create_session()
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4242424242424242")
    run_jobs(app)
    customer.follow(back)
    canceled = merchant.create_session()
    merchant.post(f"/payment_sessions/{canceled['id']}/cancel")

    for target in (session, canceled):
        response = merchant.post(f"/payment_sessions/{target['id']}/cancel")
        assert response.status_code == 422
        assert response.json["error"]["code"] == "session_not_cancelable"
    assert merchant.session(session["id"])["status"] == "succeeded"


def test_cancel_of_an_unknown_session_is_404(merchant):
    response = merchant.post("/payment_sessions/ps_unknown0000000000000000000/cancel")

    assert response.status_code == 404
    assert response.json["error"]["code"] == "resource_missing"


def test_the_sweep_expires_open_sessions_past_expires_at(merchant, db):
    due = merchant.create_session()
    fresh = merchant.create_session()
    _past_expiry(due, db)

    run_sweeps()

    assert merchant.session(due["id"])["status"] == "expired"
    assert merchant.session(fresh["id"])["status"] == "open"
    assert merchant.event_types(due["id"]) == ["payment_session.expired"]
    transition = SessionTransition.query.filter_by(session_id=due["id"]).one()
    assert "expires_at" in transition.cause


def test_expiry_ends_the_provider_checkout_first(merchant, customer, db):
    session = merchant.create_session()
    customer.go_to_hosted_page(session)
    _past_expiry(session, db)

    run_sweeps()

    assert merchant.session(session["id"])["status"] == "expired"
    assert _sandbox_status(_attempt(session)) == "expired"


def test_expiry_leaves_a_session_open_while_a_payment_is_under_way(merchant, customer, db):
    session = merchant.create_session()
    customer.pay_by_card(customer.go_to_hosted_page(session), "4000000000000259")
    _past_expiry(session, db)

    run_sweeps()

    assert merchant.session(session["id"])["status"] == "open"


def test_a_processing_session_never_expires_by_time(merchant, db):
    session = merchant.create_session()
    row = PaymentSession.query.filter_by(id=session["id"]).one()
    session_state.transition(row, "processing", cause="test: provider confirms later")
    db.session.commit()
    _past_expiry(session, db)

    run_sweeps()

    assert merchant.session(session["id"])["status"] == "processing"


def test_opening_the_checkout_of_a_session_past_expiry_expires_it(merchant, customer, db):
    session = merchant.create_session()
    _past_expiry(session, db)

    page = customer.open_checkout(session)

    assert page.status_code == 200 and b"expired" in page.data
    assert merchant.session(session["id"])["status"] == "expired"
    assert Attempt.query.filter_by(session_id=session["id"]).count() == 0


def test_cancel_when_the_provider_cannot_confirm_changes_nothing(merchant, customer):
    from kadosei.sandbox.knobs import update_knobs

    session = merchant.create_session()
    customer.go_to_hosted_page(session)
    update_knobs(_attempt(session).provider, {"down": True})

    response = merchant.post(f"/payment_sessions/{session['id']}/cancel")

    assert response.status_code == 503
    assert response.json["error"]["type"] == "api_error"
    assert merchant.session(session["id"])["status"] == "open"
    assert _attempt(session).status == "pending"


def test_cancel_takes_no_parameters(merchant, client):
    session = merchant.create_session()

    response = client.post(
        f"/api/v1/payment_sessions/{session['id']}/cancel",
        json={"reason": "customer asked"},
        headers=merchant.headers,
    )

    assert response.status_code == 400
    assert response.json["error"]["code"] == "parameter_unknown"
    assert merchant.session(session["id"])["status"] == "open"


def test_sessions_the_sweep_must_leave_open_do_not_starve_the_others(merchant, customer, db):
    from kadosei.services.session_expiry import expire_due_sessions

    stuck = merchant.create_session()
    customer.pay_by_card(customer.go_to_hosted_page(stuck), "4000000000000259")
    _past_expiry(stuck, db)
    due = merchant.create_session()
    _past_expiry(due, db)
    PaymentSession.query.filter_by(id=due["id"]).one().updated_at = utcnow()
    db.session.commit()  # the stuck one is older, so it comes first

    expire_due_sessions(batch=1)  # a batch full of stuck sessions
    expire_due_sessions(batch=1)

    assert merchant.session(stuck["id"])["status"] == "open"
    assert merchant.session(due["id"])["status"] == "expired"
