"""The delivery pool: many deliveries in flight per worker, at most a few per endpoint across
all worker processes together (a claim racing another worker's is counted again), claimed
round-robin across endpoints, so a slow or hanging receiver delays only itself; never one
delivery sent twice by two threads or two worker processes; SIGTERM lets the tries in flight
finish. Real receivers, real worker processes, the run's database and Redis."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import webhook_support
from sqlalchemy import select, text, update
from webhook_support import (
    Receiver,
    deliveries,
    emit,
    make_endpoint,
    start_worker,
    stop_worker,
    wait_until_all_succeeded,
)

from kadosei.extensions import db
from kadosei.models import DeliveryTry, WebhookDelivery, WebhookEndpoint
from kadosei.models.base import utcnow
from kadosei.webhooks.claims import claim_due_deliveries
from kadosei.webhooks.pool import DeliveryPool

webhook_app = webhook_support.webhook_app


@contextmanager
def running_pool(app, **sizes: int) -> Iterator[DeliveryPool]:
    """A worker's delivery pool in this process (the test's own rows are committed first)."""
    db.session.commit()
    pool = DeliveryPool(app, **sizes).start()
    try:
        yield pool
    finally:
        pool.stop(timeout=15)


@contextmanager
def receivers(count: int, **kwargs) -> Iterator[list[Receiver]]:
    servers = [Receiver(**kwargs) for _ in range(count)]
    try:
        yield servers
    finally:
        for server in servers:
            server.close()


def test_slow_receivers_are_served_at_the_same_time(webhook_app, factories):
    with receivers(6, delay=1.5) as slow:
        for receiver in slow:
            application, _ = make_endpoint(factories, receiver.url)
            emit(application)
        started = time.monotonic()
        with running_pool(webhook_app, concurrency=8, per_endpoint=2):
            assert all(receiver.wait_for(1, timeout=20) for receiver in slow)
        elapsed = time.monotonic() - started
    arrivals = [receiver.received[0].at for receiver in slow]
    # Every request began before the first one was answered: they were in flight together.
    assert max(arrivals) - min(arrivals) < 1.5
    assert elapsed < 6 * 1.5 / 2  # one after another would take 9 s
    assert {d.status for d in deliveries()} == {"succeeded"}


def test_no_endpoint_gets_more_than_its_share_in_flight(webhook_app, factories):
    with receivers(1, delay=1.0) as (receiver,):
        application, _ = make_endpoint(factories, receiver.url)
        for _ in range(7):
            emit(application.id)
        with running_pool(webhook_app, concurrency=8, per_endpoint=3):
            assert len(receiver.wait_for(7, timeout=30)) == 7
        assert receiver.most_in_flight == 3  # in parallel, but never more than its share


def test_a_hanging_endpoint_delays_no_other_endpoint(webhook_app, factories):
    # Tries time out after 2 s (webhook_app); this receiver would answer after 5.
    with receivers(1, delay=5.0) as (hanging,), receivers(1) as (other,):
        stuck, _ = make_endpoint(factories, hanging.url)
        stuck_id = stuck.id
        for _ in range(20):
            emit(stuck_id)  # due first, and many
        merchant, _ = make_endpoint(factories, other.url)
        emit(merchant)
        with running_pool(webhook_app, concurrency=4, per_endpoint=2):
            assert other.wait_for(1, timeout=10)
            started_when_other_arrived = hanging.started
            assert hanging.wait_for_start(4, timeout=15)  # the hung one keeps its 2 slots busy
    # The other merchant's delivery went out while the hanging endpoint's first two tries were
    # still waiting for their answer: it did not queue behind them.
    assert started_when_other_arrived <= 2
    assert hanging.most_in_flight <= 2 + 2  # its 2 slots, plus answers it sends too late


def test_claims_go_round_robin_across_endpoints_and_respect_their_share(webhook_app, factories):
    endpoints = {}
    for name, count in (("a", 5), ("b", 2), ("c", 1)):
        application, endpoint = make_endpoint(factories, f"https://{name}.example.com/hooks")
        endpoints[endpoint.id] = name
        for _ in range(count):
            emit(application.id)

    claims = claim_due_deliveries(6, 3)
    assert [endpoints[c.endpoint_id] for c in claims] == ["a", "b", "c", "a", "b", "a"]
    # a holds its 3 slots (leases in the database, as another worker's would): nothing more.
    assert claim_due_deliveries(6, 3) == []


def test_a_claim_racing_another_workers_claim_keeps_within_the_endpoints_share(
    webhook_app, factories
):
    application, endpoint = make_endpoint(factories, "https://slow.example.com/hooks")
    for _ in range(6):
        emit(application.id)
    endpoint_id, owed = endpoint.id, [d.id for d in deliveries()]
    db.session.commit()
    outcome: dict[str, list] = {}

    def claim_elsewhere() -> None:
        with webhook_app.app_context():
            outcome["claims"] = claim_due_deliveries(6, 3)
            db.session.remove()

    # Another worker is in the middle of claiming for this endpoint: it holds the endpoint's
    # claim lock (on SQLite: the one writer) and has leased three deliveries, not yet committed.
    with db.engine.connect() as other:
        other.execute(
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.id == endpoint_id)
            .with_for_update(key_share=True)
        )
        lease = utcnow() + timedelta(seconds=60)
        other.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(owed[3:]))
            .values(locked_until=lease)
        )
        # This worker reads no lease yet, so it plans to take the three others...
        racing = threading.Thread(target=claim_elsewhere)
        racing.start()
        time.sleep(1.0)
        other.commit()
        racing.join(timeout=15)
    # ...and, counting again once the other claim is in, takes none: the share is full.
    assert outcome["claims"] == []
    leased = [d.id for d in deliveries() if d.locked_until is not None]
    assert leased == owed[3:]


def test_two_worker_processes_never_send_a_delivery_twice(webhook_app, factories):
    with receivers(4, delay=0.05) as targets:
        applications = [make_endpoint(factories, r.url)[0].id for r in targets]
        events = [emit(applications[n % 4]).id for n in range(60)]
        processes = [start_worker(webhook_app, KADOSEI_WEBHOOK_CONCURRENCY="8") for _ in range(2)]
        try:
            rows = wait_until_all_succeeded(len(events), timeout=60)
        finally:
            for process in processes:
                stop_worker(process)
        received = Counter(r.event_id for target in targets for r in target.received)
    assert [d.status for d in rows] == ["succeeded"] * len(events)
    assert received == Counter(dict.fromkeys(events, 1))  # each exactly once
    tries = Counter(t.delivery_id for t in db.session.scalars(select(DeliveryTry)))
    assert set(tries.values()) == {1}


def test_sigterm_lets_the_tries_in_flight_finish_and_loses_nothing(
    webhook_app, factories, tmp_path
):
    with receivers(1, delay=1.2) as (receiver,):
        application, endpoint = make_endpoint(factories, receiver.url)
        receiver.secret = endpoint.secret  # received: verified requests only
        events = [emit(application.id).id for _ in range(8)]

        log = tmp_path / "worker.log"
        first = start_worker(webhook_app, log_file=log)
        try:
            assert receiver.wait_for_start(4, timeout=30)  # four tries are in flight now
            first.send_signal(signal.SIGTERM)
            # A clean exit, once those tries finished (else: what the worker said last).
            assert first.wait(timeout=20) == 0, log.read_text()[-4000:]
        finally:
            stop_worker(first)
        answered = len(receiver.received)
        assert answered >= 4  # the tries in flight were answered, not cut off
        rows = deliveries()
        db.session.commit()
        assert sum(d.status == "succeeded" for d in rows) == answered  # and recorded
        assert all(d.locked_until is None for d in rows)  # no claim left behind to lapse

        second = start_worker(webhook_app)
        try:
            rows = wait_until_all_succeeded(len(events), timeout=40)
        finally:
            stop_worker(second)
        counts = Counter(r.event_id for r in receiver.received)
    assert [d.status for d in rows] == ["succeeded"] * len(events)
    assert counts == Counter(dict.fromkeys(events, 1))  # none sent twice
    assert receiver.rejected == []  # no request cut short


def test_the_per_endpoint_cap_holds_across_worker_processes(webhook_app, factories):
    # Two worker processes, 8 delivery threads each, a cap of 3: one process alone could keep
    # 3 in flight, so without a cap shared through the database the two would reach 6.
    cap = 3
    with receivers(1, delay=0.6) as (slow,), receivers(1) as (other,):
        owing, _ = make_endpoint(factories, slow.url)
        owing_id = owing.id
        owed = [emit(owing_id).id for _ in range(30)]
        merchant, _ = make_endpoint(factories, other.url)
        merchant_id = merchant.id
        others = [emit(merchant_id).id for _ in range(10)]
        processes = [
            start_worker(
                webhook_app,
                KADOSEI_WEBHOOK_CONCURRENCY="8",
                KADOSEI_WEBHOOK_PER_ENDPOINT=str(cap),
            )
            for _ in range(2)
        ]
        try:
            rows = wait_until_all_succeeded(len(owed) + len(others), timeout=90)
        finally:
            for process in processes:
                stop_worker(process)
        slow_arrivals = sorted(r.at for r in slow.received)
        other_arrivals = sorted(r.at for r in other.received)
        received = Counter(r.event_id for target in (slow, other) for r in target.received)
    assert [d.status for d in rows] == ["succeeded"] * (len(owed) + len(others))
    assert received == Counter(dict.fromkeys(owed + others, 1))
    assert slow.most_in_flight == cap  # used to the full, never above, by both workers together
    # The other merchant's deliveries all went out while the slow receiver still had most of
    # its 30 (6 s of work at 3 at a time) to come: they did not queue behind them.
    assert other_arrivals[-1] < slow_arrivals[len(owed) // 2]


def test_tries_whose_record_failed_are_sent_again_and_recorded(webhook_app, factories, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL's lock_timeout to make a record fail in a few seconds")
    monkeypatch.setitem(webhook_app.config, "KADOSEI_WEBHOOK_LEASE_SECONDS", 3)
    with receivers(1) as (receiver,):
        application, _ = make_endpoint(factories, receiver.url)
        events = [emit(application.id).id for _ in range(3)]
        # Another transaction holds the try log: the pool's record of the first tries waits
        # out the lock timeout (5 s) and fails, so none of them is recorded.
        blocker = db.engine.connect()
        blocker.execute(text("LOCK TABLE webhook_delivery_tries IN EXCLUSIVE MODE"))
        try:
            with running_pool(webhook_app, concurrency=4):
                assert len(receiver.wait_for(3, timeout=10)) == 3
                time.sleep(5.5)  # the record failed; the leases (3 s) lapsed meanwhile
                blocker.rollback()
                rows = wait_until_all_succeeded(len(events), timeout=20)
        finally:
            blocker.close()
        counts = Counter(item.event_id for item in receiver.received)
    assert [d.status for d in rows] == ["succeeded"] * len(events)  # nothing lost
    assert all(counts[event_id] >= 2 for event_id in events)  # sent again: at least once
    logged = db.session.scalars(select(DeliveryTry.delivery_id)).all()
    assert sorted(set(logged)) == sorted(d.id for d in rows)  # and their tries recorded
