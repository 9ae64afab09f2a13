"""A provider's notification that arrives before kadosei has stored the provider's answer to
the create call (the window between the attempt being claimed and its reference committed):
refused with 503 and ``Retry-After`` — nothing recorded — and applied when the provider sends it
again, so the payment is neither lost nor doubled."""

from __future__ import annotations

from payments_support import post_notification, signed_notification

from kadosei.extensions import db
from kadosei.models import Attempt, ProviderNotification


def _in_the_window(attempt: Attempt) -> str:
    """Put the attempt back where the checkout leaves it while the provider's create call is
    still under way: claimed (``creating``), the provider's reference not yet stored."""
    reference = attempt.provider_reference
    attempt.provider_reference = None
    attempt.status = "creating"
    db.session.commit()
    return reference


def _window_closes(attempt_id: str, reference: str) -> None:
    attempt = Attempt.query.filter_by(id=attempt_id).one()
    attempt.provider_reference = reference
    attempt.status = "pending"
    db.session.commit()


def test_a_notification_before_the_attempt_is_stored_is_refused_then_applied(
    client, merchant, customer
):
    session = merchant.create_session()
    customer.go_to_hosted_page(session)
    attempt = Attempt.query.filter_by(session_id=session["id"]).one()
    notification = signed_notification(attempt.provider_reference, "succeeded")
    reference = _in_the_window(attempt)

    early = post_notification(client, *notification)

    assert early.status_code == 503
    assert early.headers["Retry-After"] == "5"
    assert early.json["error"]["code"] == "notification_too_early"
    assert ProviderNotification.query.count() == 0
    assert merchant.session(session["id"])["status"] == "open"

    _window_closes(attempt.id, reference)
    again = post_notification(client, *notification)  # the provider's retry

    assert again.status_code == 200
    assert merchant.session(session["id"])["status"] == "succeeded"
    assert merchant.event_types(session["id"]) == ["payment_session.succeeded"]
    assert [n.effect for n in ProviderNotification.query] == ["applied"]


def test_a_notification_about_a_truly_unknown_payment_is_acknowledged(client, merchant, customer):
    session = merchant.create_session()
    customer.go_to_hosted_page(session)
    attempt = Attempt.query.filter_by(session_id=session["id"]).one()
    notification = signed_notification(attempt.provider_reference, "succeeded")
    attempt.provider_reference = "not-ours"  # no checkout of kadosei's has this payment
    db.session.commit()

    response = post_notification(client, *notification)

    assert response.status_code == 200  # acknowledged, recorded, changes nothing
    assert [n.effect for n in ProviderNotification.query] == ["unknown_payment"]
    assert merchant.session(session["id"])["status"] == "open"
