"""Several instances (§14 proofs): two gunicorn instances and two workers on one PostgreSQL and
one Redis — idempotency holds across instances under concurrent duplicates, what routing
learns through one instance steers the other, and every webhook goes out once per try."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.cluster.conftest import (
    Api,
    Receiver,
    add_endpoint,
    flask_cli,
    merchant_key,
    pay_on_the_sandbox,
    session_body,
    start_cluster,
    stop_cluster,
    wait_for_status,
)


@pytest.fixture(scope="module")
def cluster():
    cluster = start_cluster("instances", sweep_interval=2.0)
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(scope="module")
def merchant(cluster):
    app_id, secret, owner = merchant_key(cluster, f"owner-{uuid.uuid4().hex[:8]}@shop.example")
    return app_id, Api(cluster, secret), owner


def _sql(cluster, query: str, *params):
    with psycopg.connect(cluster.database_url.replace("postgresql://", "postgresql://", 1)) as conn:
        return conn.execute(query, params).fetchall()


def test_concurrent_duplicates_across_instances_create_one_session(cluster, merchant):
    _, api, _ = merchant
    key = f"order-{uuid.uuid4().hex}"
    body = session_body(reference=key)

    def create(n: int):
        return api.request(
            "POST",
            "/api/v1/payment_sessions",
            instance=n % 2,
            json=body,
            headers={"Idempotency-Key": key},
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(create, range(32)))

    statuses = sorted({answer.status_code for answer in answers})
    created = {answer.json()["id"] for answer in answers if answer.status_code == 201}
    assert set(statuses) <= {201, 409}, statuses
    assert len(created) == 1
    in_progress = [a.json()["error"]["code"] for a in answers if a.status_code == 409]
    assert set(in_progress) <= {"idempotency_key_in_use"}
    rows = _sql(cluster, "SELECT count(*) FROM payment_sessions WHERE reference = %s", key)
    assert rows == [(1,)]
    # Once the first has finished, every instance replays it.
    for instance in (0, 1):
        again = create(instance)
        assert again.status_code == 201 and again.json()["id"] in created


def test_what_one_instance_learns_steers_the_other(cluster, merchant):
    _, api, _ = merchant
    before = _decision(cluster, _checkout(api, instance=1))
    favourite = before["chosen"]
    flask_cli(cluster, "sandbox", "set", favourite, "--down")
    try:
        failed = 0
        for _ in range(10):  # through instance 0 only: the favourite errors, others take over
            session_id = _checkout(api, instance=0)
            failed += _errors_at(cluster, session_id, favourite)
            if failed >= 1:
                break
        assert failed, f"{favourite} was never tried"
    finally:
        flask_cli(cluster, "sandbox", "set", favourite, "--up")

    # Instance 1 saw none of those errors itself; the shared statistics tell it.
    after = _decision(cluster, _checkout(api, instance=1))
    assert after["chosen"] != favourite
    assert _availability(after, favourite) < _availability(before, favourite)


def _decision(cluster, session_id: str) -> dict:
    """The routing decision of the session's first attempt."""
    rows = _sql(
        cluster, "SELECT explanation FROM attempts WHERE session_id = %s ORDER BY pk", session_id
    )
    return rows[0][0]


def _availability(decision: dict, provider: str) -> float:
    return next(c["availability"] for c in decision["candidates"] if c["provider"] == provider)


def _errors_at(cluster, session_id: str, provider: str) -> int:
    rows = _sql(
        cluster,
        "SELECT count(*) FROM attempts WHERE session_id = %s AND provider = %s "
        "AND status = 'error'",
        session_id,
        provider,
    )
    return rows[0][0]


def _checkout(api, instance: int) -> str:
    session = api.request(
        "POST", "/api/v1/payment_sessions", instance=instance, json=session_body()
    ).json()
    checkout = api.request("GET", f"/checkout/{session['id']}", instance=instance)
    assert checkout.status_code == 303, checkout.text  # (failed over if need be)
    return session["id"]


def test_every_webhook_is_sent_once_per_try_by_two_workers(cluster, merchant):
    app_id, api, owner = merchant
    receiver = Receiver()
    try:
        add_endpoint(owner, app_id, receiver.url)
        count = 30

        def create_and_cancel(n: int) -> str:
            session = api.request(
                "POST", "/api/v1/payment_sessions", instance=n % 2, json=session_body()
            ).json()
            canceled = api.request(
                "POST", f"/api/v1/payment_sessions/{session['id']}/cancel", instance=(n + 1) % 2
            )
            assert canceled.status_code == 200, canceled.text
            return session["id"]

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(create_and_cancel, range(count)))
        took = receiver.wait_for(count, timeout=90)
        time.sleep(3)  # anything sent twice would have arrived by now

        ids = receiver.ids()
        print(f"\n{count} webhooks delivered by two workers in {took:.1f} s")
        assert len(ids) == len(set(ids)) == count, "a webhook went out twice"
        tries = _sql(
            cluster,
            "SELECT d.id, count(t.pk) FROM webhook_deliveries d "
            "JOIN webhook_delivery_tries t ON t.delivery_id = d.id "
            "WHERE d.status = 'succeeded' GROUP BY d.id",
        )
        assert len(tries) == count and {n for _, n in tries} == {1}
    finally:
        receiver.close()


def test_a_capture_and_a_refund_cannot_be_doubled_across_instances(cluster, merchant):
    _, api, _ = merchant
    session = api.request(
        "POST", "/api/v1/payment_sessions", json=session_body(capture_method="manual", amount=5000)
    ).json()
    session_id = session["id"]
    pay_on_the_sandbox(cluster, session_id)
    wait_for_status(api, f"/api/v1/payment_sessions/{session_id}", "requires_capture")

    def capture(n: int):
        return api.request(
            "POST",
            f"/api/v1/payment_sessions/{session_id}/capture",
            instance=n % 2,
            json={"amount": 4000},
            headers={"Idempotency-Key": f"capture-{n}"},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        captures = list(pool.map(capture, range(8)))
    won = [c for c in captures if c.status_code == 200]
    assert len(won) == 1, [c.status_code for c in captures]
    assert {c.status_code for c in captures} <= {200, 409, 422, 503}
    captured = wait_for_status(api, f"/api/v1/payment_sessions/{session_id}", "succeeded")
    assert captured["amount_captured"] == 4000

    def refund(n: int):
        return api.request(
            "POST",
            "/api/v1/refunds",
            instance=n % 2,
            json={"payment_session": session_id, "amount": 3000},
            headers={"Idempotency-Key": f"refund-{n}"},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        refunds = list(pool.map(refund, range(8)))
    created = [r for r in refunds if r.status_code == 201]
    assert len(created) == 1, [(r.status_code, r.text[:120]) for r in refunds]
    refused = {r.json()["error"]["code"] for r in refunds if r.status_code == 422}
    assert refused <= {"amount_exceeds_refundable"}
    rows = _sql(cluster, "SELECT sum(amount) FROM refunds WHERE session_id = %s", session_id)
    assert rows == [(3000,)]  # never more than was captured, whichever instance answered
