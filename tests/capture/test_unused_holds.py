"""A hold no session uses is voided at the provider (docs/api.md §4.2): an authorisation that
arrives after its session was canceled is recorded, noted on the timeline and released by a job
(or, with the provider away, by the next sweep); a hold the session uses is never touched, and a
late success (money taken) is still flagged ``conflict`` for a refund."""

from __future__ import annotations

from kadosei.extensions import db
from kadosei.jobs.sweeps import registered_sweeps
from kadosei.models import ProviderNotification, SessionTransition
from kadosei.sandbox.knobs import update_knobs
from kadosei.services.late_holds import release_unused_holds
from tests.capture.capture_support import (
    attempt_of,
    held_payment,
    post_notification,
    run_jobs,
    sandbox_payment,
    signed_notification,
)


def _authorised_after_cancel(client, merchant, customer) -> dict:
    """A manual session canceled while the customer was on the provider's page, which then
    authorised the payment all the same (its end of the checkout lost) and says so."""
    session = merchant.create_session(capture_method="manual")
    customer.go_to_hosted_page(session)
    canceled = merchant.post(f"/payment_sessions/{session['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json["status"] == "canceled"
    payment = sandbox_payment(session["id"])
    payment.status = "authorized"  # the PSP's own books: it holds the money
    db.session.commit()
    notified = post_notification(
        client, *signed_notification(payment.id, "authorized", capture_method="manual")
    )
    assert notified.status_code == 200
    return canceled.json


def _causes(session_id: str) -> list[str]:
    db.session.expire_all()
    rows = SessionTransition.query.filter_by(session_id=session_id)
    return [row.cause for row in rows.order_by(SessionTransition.pk)]


def test_the_unused_hold_sweep_is_registered(app):
    assert release_unused_holds in registered_sweeps(app)


def test_a_hold_placed_after_the_session_was_canceled_is_voided(app, client, merchant, customer):
    canceled = _authorised_after_cancel(client, merchant, customer)
    latest = ProviderNotification.query.order_by(ProviderNotification.pk.desc()).first()
    assert latest.effect == "unused_hold"
    assert attempt_of(canceled["id"]).status == "unused_hold"
    assert any("does not use; kadosei voids the hold" in c for c in _causes(canceled["id"]))

    run_jobs(app)

    assert sandbox_payment(canceled["id"]).status == "canceled"
    attempt = attempt_of(canceled["id"])
    assert (attempt.status, attempt.error_code) == ("canceled", "voided")
    assert any(c.startswith("voided at ") for c in _causes(canceled["id"]))
    after = merchant.session(canceled["id"])
    assert (after["status"], after["conflict"]) == ("canceled", False)


def test_a_provider_away_leaves_the_hold_to_the_sweep(app, client, merchant, customer):
    canceled = _authorised_after_cancel(client, merchant, customer)
    provider = attempt_of(canceled["id"]).provider
    update_knobs(provider, {"down": True})

    run_jobs(app)
    assert attempt_of(canceled["id"]).status == "unused_hold"
    assert sandbox_payment(canceled["id"]).status == "authorized"

    update_knobs(provider, {"down": False})
    with app.app_context():
        assert release_unused_holds() == 1
        assert release_unused_holds() == 0  # once is enough
    assert sandbox_payment(canceled["id"]).status == "canceled"
    assert attempt_of(canceled["id"]).status == "canceled"


def test_the_sweep_never_voids_a_hold_the_session_uses(app, merchant, customer):
    held = held_payment(app, merchant, customer)

    with app.app_context():
        assert release_unused_holds() == 0

    assert merchant.session(held["id"])["status"] == "requires_capture"
    assert sandbox_payment(held["id"]).status == "authorized"
    assert attempt_of(held["id"]).status == "authorized"


def test_a_replayed_authorisation_of_the_used_hold_voids_nothing(app, client, merchant, customer):
    held = held_payment(app, merchant, customer)
    reference = attempt_of(held["id"]).provider_reference

    post_notification(
        client, *signed_notification(reference, "authorized", capture_method="manual")
    )
    run_jobs(app)

    assert merchant.session(held["id"]) == held
    assert sandbox_payment(held["id"]).status == "authorized"


def test_a_late_success_is_still_a_conflict_and_not_voided(app, client, merchant, customer):
    session = merchant.create_session(capture_method="manual")
    customer.go_to_hosted_page(session)
    assert merchant.post(f"/payment_sessions/{session['id']}/cancel").status_code == 200
    payment = sandbox_payment(session["id"])

    post_notification(
        client, *signed_notification(payment.id, "succeeded", capture_method="manual")
    )
    run_jobs(app)

    after = merchant.session(session["id"])
    assert (after["status"], after["conflict"]) == ("canceled", True)
    assert attempt_of(session["id"]).status == "succeeded"
    with app.app_context():
        assert release_unused_holds() == 0
