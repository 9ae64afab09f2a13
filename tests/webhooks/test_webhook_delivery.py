"""Delivering one webhook: the Standard Webhooks format verified by a real receiver, rotation,
the retry schedule on a controllable clock, 500 / timeout / 410 / redirects, the SSRF check at
delivery time, disabled endpoints, resend and the no-double-send lease."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import webhook_support
from sqlalchemy import select, update
from webhook_support import Receiver, emit, make_endpoint

from kadosei.extensions import db
from kadosei.models import DeliveryTry, Event, WebhookDelivery, WebhookEndpoint
from kadosei.models.base import utcnow
from kadosei.schemas.requests import WebhookEndpointCreate, WebhookEndpointUpdate
from kadosei.services import webhook_endpoints
from kadosei.webhooks.claims import claim_due_deliveries
from kadosei.webhooks.delivery import deliver_webhook, make_try, record_tries, send_claimed
from kadosei.webhooks.schedule import MAX_TRIES, RETRY_DELAYS
from kadosei.webhooks.signing import new_secret
from kadosei.webhooks.transport import PRIVATE_BODY_NOTE, RESPONSE_BODY_LIMIT, read_capped_body

receiver = webhook_support.receiver
webhook_app = webhook_support.webhook_app


def only_delivery() -> WebhookDelivery:
    db.session.expire_all()
    return db.session.scalars(select(WebhookDelivery)).one()


def tries_of(delivery_id: str) -> list[DeliveryTry]:
    query = select(DeliveryTry).where(DeliveryTry.delivery_id == delivery_id)
    return list(db.session.scalars(query.order_by(DeliveryTry.pk)))


def test_delivery_is_a_standard_webhook_that_the_library_verifies(webhook_app, factories, receiver):
    application, endpoint = make_endpoint(factories, receiver.url)
    event = emit(application)
    delivery = only_delivery()

    assert deliver_webhook(delivery.id) == "succeeded"

    (request,) = receiver.wait_for(1)
    payload = request.verify(endpoint.secret)
    assert payload == {
        "id": event.id,
        "type": "payment_session.succeeded",
        "created_at": payload["created_at"],
        "mode": "test",
        "data": {"object": event.data["object"]},
    }
    assert payload["created_at"].endswith("Z")
    assert request.headers["webhook-id"] == event.id
    assert request.headers["webhook-timestamp"].isdigit()
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    assert "kadosei" in request.headers["user-agent"]
    assert request.path == "/hooks"
    assert not request.verifies(new_secret())
    delivery = only_delivery()
    assert delivery.status == "succeeded" and delivery.attempt_count == 1
    assert delivery.completed_at is not None and delivery.locked_until is None
    (logged,) = tries_of(delivery.id)
    assert logged.succeeded and logged.status_code == 200
    assert logged.response_body == PRIVATE_BODY_NOTE  # 127.0.0.1: see the test below
    assert logged.duration_ms is not None and logged.error is None


def test_only_endpoints_of_the_events_mode_and_types_get_deliveries(webhook_app, factories):
    application = factories.make_application()

    def create(application, data):
        return webhook_endpoints.create_endpoint(application, WebhookEndpointCreate(**data))

    everything = create(application, {"url": "http://127.0.0.1:9/a", "mode": "test"})
    failed_only = create(
        application,
        {"url": "http://127.0.0.1:9/b", "mode": "test", "events": ["payment_session.failed"]},
    )
    live = create(application, {"url": "https://93.184.215.14/c", "mode": "live"})
    emit(application, "payment_session.succeeded")
    emit(application, "payment_session.failed")
    deliveries = db.session.scalars(select(WebhookDelivery)).all()
    pairs = sorted((d.endpoint_id, d.event_type) for d in deliveries)
    assert pairs == sorted(
        [
            (everything.id, "payment_session.succeeded"),
            (everything.id, "payment_session.failed"),
            (failed_only.id, "payment_session.failed"),
        ]
    )
    assert live.id not in {d.endpoint_id for d in deliveries}


def test_rotation_signs_with_both_secrets_for_24_hours_then_the_new_one_only(
    webhook_app, factories, receiver
):
    application, endpoint = make_endpoint(factories, receiver.url)
    old_secret = endpoint.secret
    rotated_at = utcnow()
    webhook_endpoints.rotate_secret(endpoint, now=rotated_at)
    new_secret = endpoint.secret
    assert new_secret != old_secret

    emit(application)
    deliver_webhook(only_delivery().id, now=rotated_at + timedelta(hours=23))
    (during,) = receiver.wait_for(1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verifies(old_secret) and during.verifies(new_secret)

    db.session.execute(db.delete(DeliveryTry))
    db.session.execute(db.delete(WebhookDelivery))
    db.session.commit()
    emit(application)
    deliver_webhook(only_delivery().id, now=rotated_at + timedelta(hours=24, seconds=1))
    after = receiver.wait_for(2)[1]
    assert after.headers["webhook-signature"].count("v1,") == 1
    assert after.verifies(new_secret) and not after.verifies(old_secret)


def test_failed_tries_follow_the_backoff_schedule_for_three_days_then_fail(
    webhook_app, factories, receiver
):
    receiver.status = 500
    application, _ = make_endpoint(factories, receiver.url)
    emit(application)
    delivery_id = only_delivery().id
    now = utcnow()
    first_try = now

    for number, delay in enumerate(RETRY_DELAYS, start=1):
        assert deliver_webhook(delivery_id, now=now) == "retry"
        delivery = only_delivery()
        assert delivery.attempt_count == number and delivery.status == "pending"
        wait = delivery.next_attempt_at - now
        assert delay * 0.9 <= wait <= delay * 1.1  # backoff with at most 10 % jitter
        # Not due yet: a job arriving early changes nothing and sends nothing.
        assert deliver_webhook(delivery_id, now=now + wait / 2) == "skipped"
        now = delivery.next_attempt_at

    assert deliver_webhook(delivery_id, now=now) == "failed"
    delivery = only_delivery()
    assert delivery.status == "failed" and delivery.attempt_count == MAX_TRIES == 10
    assert delivery.next_attempt_at is None
    assert timedelta(hours=67) <= now - first_try <= timedelta(hours=84)
    assert len(receiver.wait_for(MAX_TRIES)) == MAX_TRIES
    logged = tries_of(delivery_id)
    assert [t.status_code for t in logged] == [500] * MAX_TRIES
    assert not any(t.succeeded for t in logged)
    assert deliver_webhook(delivery_id, now=now + timedelta(days=1)) == "skipped"


def test_the_first_retry_comes_within_a_minute(webhook_app, factories, receiver):
    receiver.status = 503
    application, _ = make_endpoint(factories, receiver.url)
    emit(application)
    now = utcnow()
    deliver_webhook(only_delivery().id, now=now)
    assert only_delivery().next_attempt_at - now < timedelta(minutes=1)


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_try(webhook_app, factories, receiver):
    webhook_app.config["KADOSEI_WEBHOOK_TIMEOUT"] = 0.3
    receiver.delay = 1.5
    application, _ = make_endpoint(factories, receiver.url)
    emit(application)
    delivery_id = only_delivery().id

    assert deliver_webhook(delivery_id) == "retry"

    (logged,) = tries_of(delivery_id)
    assert logged.status_code is None and not logged.succeeded
    assert "Timed out" in logged.error
    assert logged.duration_ms < 1500
    assert only_delivery().status == "pending"


def test_410_gone_disables_the_endpoint_and_stops_its_pending_deliveries(
    webhook_app, factories, receiver
):
    receiver.status = 410
    application, endpoint = make_endpoint(factories, receiver.url)
    first, second = emit(application), emit(application)
    deliveries = {d.event_id: d.id for d in db.session.scalars(select(WebhookDelivery))}

    assert deliver_webhook(deliveries[first.id]) == "gone"

    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint.pk)
    assert endpoint.enabled is False and "410" in endpoint.disabled_reason
    statuses = {d.event_id: d.status for d in db.session.scalars(select(WebhookDelivery))}
    assert statuses == {first.id: "failed", second.id: "canceled"}
    assert deliver_webhook(deliveries[second.id]) == "skipped"
    emit(application)
    assert db.session.query(WebhookDelivery).count() == 2  # no new deliveries
    assert len(receiver.received) == 1


def test_redirects_are_not_followed(webhook_app, factories, receiver):
    target = Receiver()
    try:
        receiver.status = 307
        receiver.headers = {"Location": target.url}
        application, _ = make_endpoint(factories, receiver.url)
        emit(application)
        delivery_id = only_delivery().id
        assert deliver_webhook(delivery_id) == "retry"
        assert tries_of(delivery_id)[0].status_code == 307
        assert len(receiver.received) == 1
        assert target.received == []
    finally:
        target.close()


class _Verbose(BaseHTTPRequestHandler):
    """A receiver that answers 500 with a long body naming an internal secret."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps({"log": "internal-secret " + "x" * 10_000}).encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def verbose_receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Verbose)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_private_receivers_answer_is_not_kept_only_its_status_and_timing(
    webhook_app, factories, verbose_receiver
):
    # KADOSEI_WEBHOOK_ALLOW_PRIVATE lets test mode reach 127.0.0.1; what an internal service
    # answers must not become readable through the delivery log.
    application, _ = make_endpoint(factories, verbose_receiver)
    emit(application)
    delivery_id = only_delivery().id

    assert deliver_webhook(delivery_id) == "retry"

    (logged,) = tries_of(delivery_id)
    assert logged.status_code == 500
    assert logged.duration_ms is not None and logged.error is None
    assert logged.response_body == PRIVATE_BODY_NOTE


def test_the_response_body_kept_from_a_public_receiver_is_capped(verbose_receiver):
    # A public receiver's answer is kept up to the cap; read here from a local server, as
    # delivery cannot reach a public address in a test.
    with requests.post(verbose_receiver, data=b"{}", stream=True, timeout=5) as response:
        kept = read_capped_body(response, deadline=time.monotonic() + 5)

    assert len(kept) == RESPONSE_BODY_LIMIT
    assert kept.startswith('{"log": "internal-secret xxx')


def test_an_unreachable_receiver_is_a_failed_try_with_the_error_logged(webhook_app, factories):
    closed = Receiver()
    url = closed.url
    closed.close()
    application, _ = make_endpoint(factories, url)
    emit(application)
    delivery_id = only_delivery().id
    assert deliver_webhook(delivery_id) == "retry"
    (logged,) = tries_of(delivery_id)
    assert logged.status_code is None and "Could not connect" in logged.error


def test_delivery_checks_the_address_again_after_dns(webhook_app, factories, receiver):
    """A live endpoint whose name now resolves to loopback (DNS rebinding) is never called."""
    application = factories.make_application()
    port = receiver.server.server_address[1]
    endpoint = WebhookEndpoint(
        application_id=application.id,
        mode="live",
        url=f"https://localhost:{port}/hooks",
        secret="whsec_" + "A" * 43 + "=",
    )
    db.session.add(endpoint)
    db.session.commit()
    emit(application, mode="live")
    delivery_id = only_delivery().id

    assert deliver_webhook(delivery_id) == "retry"

    (logged,) = tries_of(delivery_id)
    assert logged.status_code is None and logged.error.startswith("Refused:")
    assert receiver.received == []


def test_test_mode_loopback_is_refused_at_delivery_without_the_setting(
    webhook_app, factories, receiver
):
    application, _ = make_endpoint(factories, receiver.url)
    webhook_app.config["KADOSEI_WEBHOOK_ALLOW_PRIVATE"] = False
    emit(application)
    delivery_id = only_delivery().id
    deliver_webhook(delivery_id)
    assert tries_of(delivery_id)[0].error.startswith("Refused:")
    assert receiver.received == []


def test_disabled_and_deleted_endpoints_get_nothing(webhook_app, factories, receiver):
    application, endpoint = make_endpoint(factories, receiver.url)
    emit(application)
    pending = only_delivery()
    webhook_endpoints.update_endpoint(endpoint, WebhookEndpointUpdate(enabled=False))
    assert only_delivery().status == "canceled"
    assert deliver_webhook(pending.id) == "skipped"
    emit(application)
    assert db.session.query(WebhookDelivery).count() == 1

    webhook_endpoints.update_endpoint(endpoint, WebhookEndpointUpdate(enabled=True))
    emit(application)
    webhook_endpoints.delete_endpoint(endpoint)
    emit(application)
    statuses = sorted(d.status for d in db.session.scalars(select(WebhookDelivery)))
    assert statuses == ["canceled", "canceled"]
    assert receiver.received == []


def test_a_job_for_an_endpoint_disabled_meanwhile_cancels_instead_of_sending(
    webhook_app, factories, receiver
):
    application, endpoint = make_endpoint(factories, receiver.url)
    emit(application)
    delivery_id = only_delivery().id
    endpoint.enabled = False  # e.g. disabled by a 410 on another worker, without the sweep
    db.session.commit()
    assert deliver_webhook(delivery_id) == "canceled"
    assert only_delivery().status == "canceled"
    assert receiver.received == []


def test_resend_tries_a_delivery_again_and_keeps_its_history(webhook_app, factories, receiver):
    application, endpoint = make_endpoint(factories, receiver.url)
    event = emit(application)
    delivery = only_delivery()
    deliver_webhook(delivery.id)
    assert only_delivery().status == "succeeded"

    webhook_endpoints.resend_delivery(only_delivery(), endpoint)
    assert only_delivery().status == "pending"
    assert deliver_webhook(delivery.id) == "succeeded"

    received = receiver.wait_for(2)
    assert [r.event_id for r in received] == [event.id, event.id]  # same webhook-id
    assert all(r.verifies(endpoint.secret) for r in received)
    assert len(tries_of(delivery.id)) == 2
    assert only_delivery().attempt_count == 2


def test_resend_of_a_failed_delivery_makes_one_more_try(webhook_app, factories, receiver):
    receiver.status = 500
    application, endpoint = make_endpoint(factories, receiver.url)
    emit(application)
    delivery = only_delivery()
    delivery.status, delivery.attempt_count, delivery.next_attempt_at = "failed", MAX_TRIES, None
    db.session.commit()
    receiver.status = 200
    webhook_endpoints.resend_delivery(only_delivery(), endpoint)
    assert deliver_webhook(delivery.id) == "succeeded"


def test_resend_of_a_delivery_in_flight_leaves_the_try_its_lease(webhook_app, factories, receiver):
    application, endpoint = make_endpoint(factories, receiver.url)
    emit(application)
    (claim,) = claim_due_deliveries(4, 4)  # a worker is sending it right now
    webhook_endpoints.resend_delivery(only_delivery(), endpoint)
    assert only_delivery().locked_until == claim.lease
    assert claim_due_deliveries(4, 4) == []  # not sent a second time alongside
    assert make_try(claim) == "succeeded"
    assert len(receiver.wait_for(1)) == 1


def test_a_single_try_waits_while_its_endpoint_has_its_share_in_flight(
    webhook_app, factories, receiver
):
    application, _ = make_endpoint(factories, receiver.url)
    for _ in range(5):
        emit(application.id)
    held = claim_due_deliveries(16, 4)  # the pools hold the endpoint's 4 slots
    unclaimed = select(WebhookDelivery.id).where(WebhookDelivery.locked_until.is_(None))
    waiting = db.session.scalars(unclaimed).one()
    assert deliver_webhook(waiting) == "skipped"
    assert db.session.scalars(unclaimed).one() == waiting  # still due: a pool sends it later
    for claim in held:
        make_try(claim)
    assert deliver_webhook(waiting) == "succeeded"
    assert len(receiver.wait_for(5)) == 5


def test_two_workers_racing_for_one_delivery_send_it_once(webhook_app, factories, receiver):
    receiver.delay = 0.3
    application, _ = make_endpoint(factories, receiver.url)
    emit(application)
    delivery_id = only_delivery().id
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        with webhook_app.app_context():
            start.wait()
            outcomes.append(deliver_webhook(delivery_id))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == ["skipped", "succeeded"]
    assert len(receiver.wait_for(1)) == 1
    assert len(tries_of(delivery_id)) == 1


def test_a_delivery_whose_lease_ran_out_can_be_claimed_again(webhook_app, factories, receiver):
    application, _ = make_endpoint(factories, receiver.url)
    emit(application)
    delivery = only_delivery()
    now = utcnow()
    delivery.locked_until = now + timedelta(seconds=60)  # a worker holds it, then dies
    db.session.commit()
    assert deliver_webhook(delivery.id, now=now) == "skipped"
    assert deliver_webhook(delivery.id, now=now + timedelta(seconds=61)) == "succeeded"
    assert len(receiver.wait_for(1)) == 1


def test_tries_recorded_together_each_keep_to_their_own_lease(webhook_app, factories, receiver):
    application, _ = make_endpoint(factories, receiver.url)
    emit(application.id)
    emit(application.id)
    claims = claim_due_deliveries(4, 4)
    tried = [send_claimed(claim) for claim in claims]  # both sent, neither recorded yet
    assert len(receiver.wait_for(2)) == 2
    # The second try outlived its lease: another worker has claimed that delivery since.
    other_workers_lease = utcnow() + timedelta(seconds=40)
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claims[1].delivery_id)
        .values(locked_until=other_workers_lease)
    )
    db.session.commit()

    assert record_tries(tried) == ["succeeded", "superseded"]  # one transaction for both
    db.session.expire_all()
    kept, lost = (
        db.session.scalars(select(WebhookDelivery).filter_by(id=c.delivery_id)).one()
        for c in claims
    )
    assert (kept.status, kept.attempt_count, kept.locked_until) == ("succeeded", 1, None)
    # The other worker's claim is left alone: still pending, under its lease, its count as was.
    assert (lost.status, lost.attempt_count) == ("pending", 0)
    assert lost.locked_until == other_workers_lease
    assert [[t.status_code for t in tries_of(c.delivery_id)] for c in claims] == [[200], [200]]


def test_events_record_the_payload_that_is_sent(webhook_app, factories, receiver):
    application, endpoint = make_endpoint(factories, receiver.url)
    event = emit(application)
    deliver_webhook(only_delivery().id)
    stored = db.session.scalar(select(Event).where(Event.id == event.id))
    assert receiver.wait_for(1)[0].verify(endpoint.secret)["data"] == stored.data
