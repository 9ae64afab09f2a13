"""How refunds end (docs/api.md §4.3): a provider failing or slow at creation, the signed
notification (late and repeated ones change nothing twice), the sweep that asks the provider,
and the merchant's webhooks through the outbox."""

from __future__ import annotations

from datetime import timedelta

from refunds_support import only_sandbox, paid_session, refund, refund_event_types
from sqlalchemy import update

from kadosei.extensions import db
from kadosei.models import Attempt, Event, ProviderNotification, Refund
from kadosei.models.base import utcnow
from kadosei.sandbox import refunds as psp_refunds
from kadosei.sandbox.knobs import update_knobs
from kadosei.sandbox.models import SandboxRefund
from kadosei.sandbox.schemes import build_refund_notification
from kadosei.schemas.requests import WebhookEndpointCreate
from kadosei.services import webhook_endpoints
from kadosei.services.refund_confirmation import QUIET_FOR, confirm_pending_refunds
from tests.payments.payments_support import post_notification, run_jobs


def _quiet(refund_id: str) -> None:
    db.session.execute(
        update(Refund)
        .where(Refund.id == refund_id)
        .values(updated_at=utcnow() - QUIET_FOR - timedelta(seconds=1))
    )
    db.session.commit()


def test_a_provider_down_at_creation_is_503_and_nothing_is_written(app, merchant, customer):
    only_sandbox("sandbox_lumen")
    session = paid_session(merchant, customer)
    update_knobs("sandbox_lumen", {"down": True})

    answer = refund(merchant, {"payment_session": session["id"]}, key="down-1")

    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "provider_unavailable"
    assert "nothing was refunded" in answer.json["error"]["message"]
    assert Refund.query.count() == 0 and SandboxRefund.query.count() == 0
    assert refund_event_types(merchant, session["id"]) == []
    update_knobs("sandbox_lumen", {"down": False})
    retried = refund(merchant, {"payment_session": session["id"]}, key="down-1")
    assert retried.status_code == 201 and retried.json["amount"] == 1999


def test_a_provider_that_does_not_answer_in_time_leaves_the_refund_pending_for_the_sweep(
    app, merchant, customer
):
    only_sandbox("sandbox_orbit")
    session = paid_session(merchant, customer)
    app.config["SANDBOX_TIMEOUT_SECONDS"] = 0.05
    update_knobs("sandbox_orbit", {"slow_ms": 200})

    answer = refund(merchant, {"payment_session": session["id"], "amount": 700})

    assert answer.status_code == 201 and answer.json["status"] == "pending"
    row = Refund.query.one()
    assert row.provider_refund_reference is None  # the provider never said it took it
    assert refund_event_types(merchant, session["id"]) == []
    # Still reserved: the rest only.
    more = refund(merchant, {"payment_session": session["id"], "amount": 1300})
    assert more.json["error"]["code"] == "amount_exceeds_refundable"
    update_knobs("sandbox_orbit", {"slow_ms": 0})
    _quiet(row.id)

    assert confirm_pending_refunds() == 1  # sent again under the same id

    row = Refund.query.filter_by(id=row.id).one()
    assert row.provider_refund_reference.startswith("sbr_")
    assert SandboxRefund.query.filter_by(merchant_reference=row.id).count() == 1
    run_jobs(app)
    assert merchant.get(f"/refunds/{row.id}").json["status"] == "succeeded"
    assert refund_event_types(merchant, session["id"]) == ["refund.created", "refund.succeeded"]


def test_a_late_or_repeated_notification_changes_nothing_twice(app, client, merchant, customer):
    only_sandbox("sandbox_harbor")
    session = paid_session(merchant, customer)
    made = refund(merchant, {"payment_session": session["id"]}).json
    run_jobs(app)
    sent = SandboxRefund.query.one()
    provider, (body, headers) = sent.provider, build_refund_notification(sent)

    again = post_notification(client, provider, body, headers)

    assert again.status_code == 200
    assert merchant.get(f"/refunds/{made['id']}").json["status"] == "succeeded"
    assert merchant.session(session["id"])["amount_refunded"] == 1999
    assert Event.query.filter_by(type="refund.succeeded").count() == 1
    effects = [n.effect for n in ProviderNotification.query.filter_by(attempt_id=None).all()]
    assert effects == []
    refund_notes = (
        ProviderNotification.query.filter(
            ProviderNotification.reported_status == "refund_succeeded"
        )
        .order_by(ProviderNotification.pk)  # in the order they arrived
        .all()
    )
    assert [n.effect for n in refund_notes] == ["applied", "duplicate"]


def test_a_forged_refund_notification_is_400_and_changes_nothing(app, client, merchant, customer):
    only_sandbox("sandbox_lumen")
    session = paid_session(merchant, customer)
    made = refund(merchant, {"payment_session": session["id"]}).json
    psp_refunds.settle_refund(SandboxRefund.query.one().id)
    body, headers = build_refund_notification(SandboxRefund.query.one())

    forged = post_notification(client, "sandbox_lumen", body.replace(b"1999", b"1998"), headers)

    assert forged.status_code == 400
    assert merchant.get(f"/refunds/{made['id']}").json["status"] == "pending"


def test_the_sweep_asks_the_provider_about_a_refund_whose_notification_never_came(
    app, merchant, customer
):
    session = paid_session(merchant, customer)
    made = refund(merchant, {"payment_session": session["id"]}).json
    psp_refunds.settle_refund(SandboxRefund.query.one().id)  # settled; notification lost

    assert confirm_pending_refunds() == 0  # recent: left to the notification for a while
    _quiet(made["id"])
    assert confirm_pending_refunds() == 1

    assert merchant.get(f"/refunds/{made['id']}").json["status"] == "succeeded"
    assert merchant.session(session["id"])["amount_refunded"] == 1999
    run_jobs(app)  # the notification arrives after all: nothing twice
    assert Event.query.filter_by(type="refund.succeeded").count() == 1
    assert confirm_pending_refunds() == 0


def test_a_pending_refund_the_provider_still_holds_is_touched_so_others_get_their_turn(
    app, merchant, customer
):
    session = paid_session(merchant, customer)
    made = refund(merchant, {"payment_session": session["id"]}).json
    _quiet(made["id"])

    assert confirm_pending_refunds() == 1
    assert Refund.query.one().status == "pending"
    assert confirm_pending_refunds() == 0


def test_refund_events_are_delivered_as_signed_webhooks(
    app, test_key, merchant, customer, receiver
):
    application, _ = test_key
    endpoint = webhook_endpoints.create_endpoint(
        application,
        WebhookEndpointCreate(
            url=receiver.url, mode="test", events=["refund.created", "refund.succeeded"]
        ),
    )
    secret = endpoint.secret
    session = paid_session(merchant, customer)
    made = refund(merchant, {"payment_session": session["id"]}).json

    run_jobs(app)  # settle, notify, then the deliveries
    run_jobs(app)

    received = receiver.wait_for(2)
    payloads = [item.verify(secret) for item in received]
    assert sorted(p["type"] for p in payloads) == ["refund.created", "refund.succeeded"]
    assert {p["data"]["object"]["id"] for p in payloads} == {made["id"]}
    assert {p["data"]["object"]["object"] for p in payloads} == {"refund"}


def test_a_refund_sent_again_and_refused_outright_ends_failed(app, merchant, customer):
    only_sandbox("sandbox_lumen")
    session = paid_session(merchant, customer)
    app.config["SANDBOX_TIMEOUT_SECONDS"] = 0.05
    update_knobs("sandbox_lumen", {"slow_ms": 200})
    made = refund(merchant, {"payment_session": session["id"]}).json
    assert Refund.query.one().provider_refund_reference is None
    update_knobs("sandbox_lumen", {"slow_ms": 0})
    # Meanwhile the whole payment was refunded in the PSP's own dashboard.
    assert SandboxRefund.query.count() == 0  # the slow call never reached the PSP's books
    psp_refunds.create_refund("sandbox_lumen", _psp_payment_of(made), 1999, "EUR", "dashboard-1")
    _quiet(made["id"])

    assert confirm_pending_refunds() == 1

    ended = merchant.get(f"/refunds/{made['id']}").json
    assert ended["status"] == "failed" and ended["failure"]["code"] == "refund_refused"
    assert refund_event_types(merchant, session["id"]) == ["refund.failed"]
    assert confirm_pending_refunds() == 0


def _psp_payment_of(made: dict) -> str:
    row = Refund.query.filter_by(id=made["id"]).one()
    return Attempt.query.filter_by(id=row.attempt_id).one().provider_reference
