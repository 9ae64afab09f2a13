"""The outbox on real Redis and real workers: deliveries are announced to the delivery pools
after commit (never before, never on rollback), a dead Redis never fails the request nor loses a
delivery (the database is the queue), jobs of earlier releases still deliver, and a worker
killed with SIGKILL mid-batch loses nothing once restarted."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
import webhook_support
from sqlalchemy import select
from webhook_support import (
    deliveries,
    emit,
    make_endpoint,
    start_worker,
    stop_worker,
    wait_until_all_succeeded,
)

from kadosei.extensions import db
from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker
from kadosei.models import DeliveryTry
from kadosei.models.base import utcnow
from kadosei.services.events import record_event
from kadosei.webhooks.claims import claim_due_deliveries
from kadosei.webhooks.delivery import deliver_webhook
from kadosei.webhooks.outbox import NEW_DELIVERIES, deliveries_channel

receiver = webhook_support.receiver
webhook_app = webhook_support.webhook_app

DELIVER_JOB = "kadosei.webhooks.delivery.deliver_webhook"


def work_off_the_queue(**kwargs) -> None:
    """A real RQ worker (the one ``flask worker`` runs) in this process, in burst mode: the
    queued jobs, then every webhook delivery due."""
    AppWorker([get_queue()], connection=redis_connection(), **kwargs).work(burst=True)


class Announcements:
    """A subscriber to the channel the outbox announces new deliveries on."""

    def __init__(self) -> None:
        self.subscription = redis_connection().pubsub(ignore_subscribe_messages=True)
        self.subscription.subscribe(deliveries_channel())

    def count(self, wait: float = 0.5) -> int:
        seen, deadline = 0, time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.subscription.get_message(timeout=0.1) is not None:
                seen += 1
        return seen

    def close(self) -> None:
        self.subscription.close()


@pytest.fixture
def announcements(webhook_app):
    subscriber = Announcements()
    subscriber.count(0.3)  # the subscription is in place
    yield subscriber
    subscriber.close()


def test_a_committed_event_announces_its_delivery_after_commit(
    webhook_app, factories, receiver, announcements
):
    application, _ = make_endpoint(factories, receiver.url)
    before_commit = record_event(application.id, "test", "payment_session.failed", {"id": "ps"})
    assert announcements.count() == 0  # nothing is announced before the rows are committed
    db.session.commit()
    assert announcements.count() == 1
    (delivery,) = deliveries()
    assert delivery.status == "pending" and before_commit.id == delivery.event_id
    assert NEW_DELIVERIES not in db.session.info
    assert get_queue().get_job_ids() == []  # the database is the queue: no job per delivery


def test_a_rolled_back_event_announces_nothing(webhook_app, factories, receiver, announcements):
    application, _ = make_endpoint(factories, receiver.url)
    record_event(application.id, "test", "payment_session.failed", {"id": "ps"})
    db.session.rollback()
    assert NEW_DELIVERIES not in db.session.info
    db.session.commit()
    assert announcements.count() == 0 and deliveries() == []


def test_a_savepoint_commit_waits_for_the_outer_commit(
    webhook_app, factories, receiver, announcements
):
    application, _ = make_endpoint(factories, receiver.url)
    with db.session.begin_nested():
        record_event(application.id, "test", "payment_session.failed", {"id": "ps"})
    assert announcements.count() == 0  # released savepoint: still invisible to workers
    db.session.commit()
    assert announcements.count() == 1
    assert len(deliveries()) == 1


def test_a_burst_worker_delivers_every_event_signed(webhook_app, factories, receiver):
    application, endpoint = make_endpoint(factories, receiver.url)
    secret = endpoint.secret
    events = [emit(application).id for _ in range(5)]

    work_off_the_queue()

    received = receiver.wait_for(5)
    assert sorted(r.event_id for r in received) == sorted(events)
    assert all(r.verifies(secret) for r in received)
    assert {d.status for d in deliveries()} == {"succeeded"}


def test_a_failed_try_is_claimed_again_once_its_retry_is_due(webhook_app, factories, receiver):
    receiver.status = 500
    application, _ = make_endpoint(factories, receiver.url)
    emit(application)
    work_off_the_queue()
    (delivery,) = deliveries()
    assert delivery.status == "pending" and delivery.attempt_count == 1
    assert claim_due_deliveries(16, 4) == []  # not due yet
    db.session.commit()
    (claim,) = claim_due_deliveries(16, 4, now=delivery.next_attempt_at + timedelta(seconds=1))
    assert claim.delivery_id == delivery.id


def test_redis_down_never_fails_the_request_and_the_delivery_still_goes_out(
    webhook_app, factories, receiver, redis_url, client
):
    merchant, user = factories.make_merchant()
    application, endpoint = make_endpoint(factories, receiver.url, merchant=merchant)
    webhook_app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    webhook_app.extensions.pop("kadosei_redis", None)

    url = f"/api/v1/applications/{application.id}/webhook_endpoints/{endpoint.id}/test"
    response = client.post(url, headers=factories.jwt_headers(user))
    assert response.status_code == 201
    emit(application)
    assert [d.status for d in deliveries()] == ["pending", "pending"]

    webhook_app.config["REDIS_URL"] = redis_url  # Redis is back (the worker's RQ side needs it)
    webhook_app.extensions.pop("kadosei_redis", None)
    work_off_the_queue()
    assert len(receiver.wait_for(2)) == 2
    assert {d.status for d in deliveries()} == {"succeeded"}


def test_deliveries_lost_in_a_redis_flush_are_still_delivered(
    webhook_app, factories, receiver, redis_client
):
    application, endpoint = make_endpoint(factories, receiver.url)
    secret = endpoint.secret
    events = [emit(application).id for _ in range(4)]
    for key in redis_client.scan_iter():
        if key != b"kadosei-test-claim":
            redis_client.delete(key)  # Redis restarted empty

    work_off_the_queue()

    received = receiver.wait_for(4)
    assert sorted(r.event_id for r in received) == sorted(events)
    assert all(r.verifies(secret) for r in received)


def test_claimed_and_future_deliveries_are_left_alone_until_due(webhook_app, factories, receiver):
    application, _ = make_endpoint(factories, receiver.url)
    emit(application)
    (delivery,) = deliveries()
    delivery_id = delivery.id
    delivery.locked_until = utcnow() + timedelta(seconds=60)  # a worker is sending it
    db.session.commit()
    assert claim_due_deliveries(16, 4) == []
    db.session.commit()
    work_off_the_queue()
    assert receiver.received == []
    later = utcnow() + timedelta(seconds=61)  # that worker's lease ran out
    assert [c.delivery_id for c in claim_due_deliveries(16, 4, now=later)] == [delivery_id]


def test_a_deliver_webhook_job_of_an_earlier_release_still_delivers(
    webhook_app, factories, receiver
):
    application, endpoint = make_endpoint(factories, receiver.url)
    secret = endpoint.secret
    emit(application)
    (delivery,) = deliveries()
    get_queue().enqueue(DELIVER_JOB, delivery.id, job_id=f"{delivery.id}-0")
    work_off_the_queue(deliveries=False)  # the RQ job alone
    (request,) = receiver.wait_for(1)
    assert request.verifies(secret)
    assert deliveries()[0].status == "succeeded"


def test_flask_worker_burst_delivers_what_is_due(webhook_app, factories, receiver):
    application, endpoint = make_endpoint(factories, receiver.url)
    secret = endpoint.secret
    events = [emit(application).id for _ in range(3)]
    worker = start_worker(webhook_app, "--burst", capture=True)
    try:
        _, stderr = worker.communicate(timeout=60)
    finally:
        stop_worker(worker)
    assert worker.returncode == 0, stderr.decode()[-2000:]
    received = receiver.wait_for(3)
    assert sorted(r.event_id for r in received) == sorted(events)
    assert all(r.verifies(secret) for r in received)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_worker_killed_mid_batch_loses_nothing_once_restarted(webhook_app, factories, receiver):
    receiver.delay = 0.4  # slow enough to kill the worker while a request is in flight
    application, endpoint = make_endpoint(factories, receiver.url)
    receiver.secret = endpoint.secret  # received: verified requests only
    events = [emit(application).id for _ in range(8)]

    first = start_worker(webhook_app, "--sweep-interval", "0.5")
    try:
        assert receiver.wait_for(3, timeout=30), "the first worker delivered nothing"
        assert receiver.wait_for_start(len(receiver.received) + 1, timeout=10)
        os.killpg(first.pid, signal.SIGKILL)  # mid-delivery: requests are in flight
        first.wait(timeout=10)
    finally:
        stop_worker(first)
    delivered_before_kill = len(receiver.received)
    assert delivered_before_kill < len(events)

    second = start_worker(webhook_app, "--sweep-interval", "0.5")
    try:
        rows = wait_until_all_succeeded(len(events), timeout=40)
    finally:
        stop_worker(second)

    assert [d.status for d in rows] == ["succeeded"] * len(events)
    received = receiver.wait_for(len(events))
    counts = Counter(r.event_id for r in received)
    assert set(counts) == set(events)  # every event arrived
    in_flight = webhook_app.config["KADOSEI_WEBHOOK_PER_ENDPOINT"]  # one endpoint: at most 4
    assert sum(counts.values()) - len(events) <= in_flight  # only those in flight come twice
    assert len(receiver.rejected) <= in_flight  # requests cut short by the kill do not verify
    tries = list(db.session.scalars(select(DeliveryTry)))
    successes = Counter(t.delivery_id for t in tries if t.succeeded)
    assert all(successes[d.id] == 1 for d in rows)  # the log shows each delivery's try


def test_the_job_claims_before_sending_so_a_duplicate_job_sends_nothing(
    webhook_app, factories, receiver
):
    application, _ = make_endpoint(factories, receiver.url)
    emit(application)
    delivery_id = deliveries()[0].id
    get_queue().enqueue(DELIVER_JOB, delivery_id, job_id=f"{delivery_id}-0")
    get_queue().enqueue(DELIVER_JOB, delivery_id, job_id=f"{delivery_id}-dup")
    work_off_the_queue()
    assert len(receiver.wait_for(1)) == 1
    time.sleep(0.2)
    assert len(receiver.received) == 1
    assert deliver_webhook(delivery_id) == "skipped"
