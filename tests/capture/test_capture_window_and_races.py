"""What happens around a hold over time (docs/api.md §4.2, §4 Statuses): the capture window
voids what was never captured and expires the session; late and replayed provider
notifications change nothing; two captures (or a capture and a void) never both win."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from kadosei.extensions import db
from kadosei.jobs.sweeps import registered_sweeps
from kadosei.models import ProviderNotification, SessionTransition
from kadosei.sandbox.knobs import update_knobs
from kadosei.services.captures import void_expired_authorisations
from tests.capture.capture_support import (
    attempt_of,
    held_payment,
    post_notification,
    run_jobs,
    sandbox_payment,
    signed_notification,
)


def _authorised_ago(session_id: str, age: timedelta) -> None:
    """Pretend the hold was placed ``age`` ago."""
    row = SessionTransition.query.filter_by(session_id=session_id, to_status="requires_capture")
    row = row.one()
    row.created_at = row.created_at - age
    db.session.commit()


# -- the capture window ---------------------------------------------------------------------


def test_the_capture_window_sweep_is_registered(app):
    assert void_expired_authorisations in registered_sweeps(app)


def test_a_hold_older_than_the_window_is_voided_and_the_session_expires(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    _authorised_ago(held["id"], timedelta(days=7, seconds=1))

    with app.app_context():
        assert void_expired_authorisations() == 1

    expired = merchant.session(held["id"])
    assert expired["status"] == "expired" and expired["amount_captured"] == 0
    assert sandbox_payment(held["id"]).status == "canceled"
    assert merchant.event_types(held["id"])[-1] == "payment_session.expired"


def test_a_hold_within_the_window_is_left_alone(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    _authorised_ago(held["id"], timedelta(days=6, hours=23))

    with app.app_context():
        assert void_expired_authorisations() == 0

    assert merchant.session(held["id"])["status"] == "requires_capture"


def test_the_window_is_the_configured_one(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    app.config["KADOSEI_CAPTURE_WINDOW"] = 3600
    _authorised_ago(held["id"], timedelta(hours=1, seconds=1))

    with app.app_context():
        assert void_expired_authorisations() == 1

    assert merchant.session(held["id"])["status"] == "expired"


def test_a_provider_away_keeps_the_hold_until_the_next_sweep(app, merchant, customer):
    held = held_payment(app, merchant, customer)
    _authorised_ago(held["id"], timedelta(days=8))
    provider = attempt_of(held["id"]).provider
    update_knobs(provider, {"down": True})

    with app.app_context():
        assert void_expired_authorisations() == 0
    assert merchant.session(held["id"])["status"] == "requires_capture"
    assert attempt_of(held["id"]).status == "authorized"

    update_knobs(provider, {"down": False})
    with app.app_context():
        assert void_expired_authorisations() == 1
    assert merchant.session(held["id"])["status"] == "expired"


# -- late and replayed notifications --------------------------------------------------------


def test_a_replayed_authorisation_after_capture_changes_nothing(app, client, merchant, customer):
    held = held_payment(app, merchant, customer)
    captured = merchant.client.post(
        f"/api/v1/payment_sessions/{held['id']}/capture", headers=merchant.headers
    ).json
    reference = attempt_of(held["id"]).provider_reference

    response = post_notification(
        client, *signed_notification(reference, "authorized", capture_method="manual")
    )

    assert response.status_code == 200
    assert merchant.session(held["id"]) == captured
    latest = ProviderNotification.query.order_by(ProviderNotification.pk.desc()).first()
    assert latest.effect in ("out_of_order", "ignored_final")


def test_a_late_processing_report_does_not_unhold_a_session(app, client, merchant, customer):
    held = held_payment(app, merchant, customer)
    reference = attempt_of(held["id"]).provider_reference

    post_notification(client, *signed_notification(reference, "processing"))

    assert merchant.session(held["id"]) == held


def test_a_capture_made_at_the_provider_itself_is_recorded(app, client, merchant, customer):
    held = held_payment(app, merchant, customer)
    reference = attempt_of(held["id"]).provider_reference

    post_notification(
        client,
        *signed_notification(reference, "succeeded", capture_method="manual", amount_captured=700),
    )

    paid = merchant.session(held["id"])
    assert (paid["status"], paid["amount_captured"]) == ("succeeded", 700)


def test_a_void_made_at_the_provider_itself_cancels_the_session(app, client, merchant, customer):
    held = held_payment(app, merchant, customer)
    reference = attempt_of(held["id"]).provider_reference

    post_notification(client, *signed_notification(reference, "canceled", capture_method="manual"))

    assert merchant.session(held["id"])["status"] == "canceled"


# -- races ---------------------------------------------------------------------------------


def _race(app, merchant, calls: list[tuple[str, dict | None]]) -> list:
    """Send the calls at once, each from its own thread and client."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def send(index: int, path: str, body: dict | None) -> None:
        with app.test_client() as browser:
            barrier.wait()
            answers[index] = browser.post(path, json=body, headers=merchant.headers)

    threads = [
        threading.Thread(target=send, args=(i, path, body)) for i, (path, body) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


@pytest.mark.parametrize(
    "second", [("capture", {"amount": 900}), ("cancel", None)], ids=["capture", "void"]
)
def test_two_requests_for_one_hold_never_both_win(app, merchant, customer, second):
    held = held_payment(app, merchant, customer)
    base = f"/api/v1/payment_sessions/{held['id']}"

    answers = _race(
        app, merchant, [(f"{base}/capture", {"amount": 1000}), (f"{base}/{second[0]}", second[1])]
    )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 422], [a.json for a in answers]
    loser = next(a for a in answers if a.status_code == 422)
    assert loser.json["error"]["code"] in ("session_not_capturable", "session_not_cancelable")
    winner = next(a for a in answers if a.status_code == 200).json
    final = merchant.session(held["id"])
    assert final == winner
    at_provider = sandbox_payment(held["id"])
    if final["status"] == "succeeded":
        assert at_provider.status == "succeeded"
        assert at_provider.amount_captured == final["amount_captured"]
    else:
        assert at_provider.status == "canceled"
    transitions = SessionTransition.query.filter_by(session_id=held["id"]).count()
    assert transitions == 2  # requires_capture, then one ending
    run_jobs(app)
    assert merchant.session(held["id"]) == final
