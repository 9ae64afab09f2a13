"""Fault drills (§14 proofs) on the cluster: the database restarted under load, Redis killed
and restarted empty (once while sessions are canceled, once while customers pay at the
provider and refunds settle), a worker killed mid-delivery, the receiver down for a while, a
provider down during checkout. For each: nothing lost, nothing doubled, recovery by itself
(no restart of kadosei), and the measured time to recover printed in the test output."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from kadosei.sandbox.jobs import NOTIFICATION_GRACE
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

LEASE_SECONDS = 8  # a killed worker's delivery is taken over this soon


@pytest.fixture(scope="module")
def cluster():
    cluster = start_cluster(
        "drills",
        sweep_interval=1.0,
        extra_env={"KADOSEI_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS)},
    )
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(scope="module")
def merchant(cluster):
    app_id, secret, owner = merchant_key(cluster, f"drill-{uuid.uuid4().hex[:8]}@shop.example")
    return app_id, Api(cluster, secret), owner


@pytest.fixture
def receiver(merchant):
    app_id, _, owner = merchant
    receiver = Receiver()
    endpoint = add_endpoint(owner, app_id, receiver.url)
    yield receiver
    owner.request("DELETE", f"/api/v1/applications/{app_id}/webhook_endpoints/{endpoint['id']}")
    receiver.close()


def _sql(cluster, query: str, *params):
    with psycopg.connect(cluster.database_url, connect_timeout=5) as conn:
        return conn.execute(query, params).fetchall()


def _cancel_one(api) -> str:
    """A session created and canceled: one ``payment_session.canceled`` webhook owed."""
    session = api.request("POST", "/api/v1/payment_sessions", json=session_body())
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    canceled = api.request("POST", f"/api/v1/payment_sessions/{session_id}/cancel")
    assert canceled.status_code == 200, canceled.text
    return session_id


def test_postgres_restarted_under_load(cluster, merchant):
    _, api, _ = merchant
    answers: list[tuple[float, int, str | None, str | None]] = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                response = api.request(
                    "POST", "/api/v1/payment_sessions", json=session_body(), timeout=15
                )
                body = (
                    response.json()
                    if response.headers.get("content-type", "").startswith("application/json")
                    else {}
                )
                answers.append(
                    (
                        time.monotonic(),
                        response.status_code,
                        body.get("id"),
                        response.headers.get("Retry-After"),
                    )
                )
            except Exception as exc:  # a broken connection is an answer too, and a bad one
                answers.append((time.monotonic(), -1, repr(exc), None))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    down_at = time.monotonic()
    cluster.restart_postgres(down_for=3)
    back_at = time.monotonic()
    deadline = back_at + 30
    while time.monotonic() < deadline:
        if any(at > back_at and status == 201 for at, status, _, _ in answers):
            break
        time.sleep(0.1)
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    during = [a for a in answers if down_at <= a[0] <= back_at]
    recovered = [a for a in answers if a[0] > back_at and a[1] == 201]
    statuses = {status for _, status, _, _ in answers}
    assert statuses <= {201, 503}, sorted(statuses)
    assert any(status == 503 for _, status, _, _ in during), "the outage was not seen"
    assert all(retry for _, status, _, retry in answers if status == 503)
    assert recovered, "no session created after PostgreSQL came back"
    recovery = recovered[0][0] - back_at
    print(
        f"\nPostgreSQL down {back_at - down_at:.1f} s: {len(during)} requests answered 503 "
        f"with Retry-After meanwhile; first session created {recovery:.2f} s after it was back"
    )
    created = [session_id for _, status, session_id, _ in answers if status == 201]
    stored = _sql(cluster, "SELECT count(*) FROM payment_sessions WHERE id = ANY(%s)", created)
    assert stored == [(len(created),)], "a session answered 201 is missing"


def test_redis_killed_and_restarted_empty(cluster, merchant, receiver):
    _, api, _ = merchant
    cluster.kill_redis()
    killed_at = time.monotonic()
    owed = [_cancel_one(api) for _ in range(5)]  # payments go on without the queue
    time.sleep(1)
    cluster.start_redis()  # empty: whatever was queued is gone
    back_at = time.monotonic()

    took = receiver.wait_for(len(owed), timeout=90)
    print(
        f"\nRedis away {back_at - killed_at:.1f} s: {len(owed)} sessions made and canceled "
        f"meanwhile; their webhooks delivered {took:.1f} s after Redis came back (empty)"
    )
    time.sleep(2)
    ids = receiver.ids()
    assert len(ids) == len(set(ids)) == len(owed)


class AnswerLog:
    """Every answer kadosei gives the clients it watches, to judge how it behaved."""

    def __init__(self) -> None:
        self.answers: list[requests.Response] = []

    def watch(self, client: Api) -> Api:
        client.http.hooks["response"].append(self._record)
        return client

    def _record(self, response: requests.Response, *args, **kwargs) -> None:
        self.answers.append(response)

    def unclean(self) -> list[str]:
        """Answers that are neither a success nor a clean ``503`` with ``Retry-After`` (in
        the JSON error envelope on the API), or that show a stack trace."""
        found = []
        for answer in self.answers:
            where = f"{answer.request.method} {answer.request.path_url}: {answer.status_code}"
            if "Traceback" in answer.text:
                found.append(f"{where} shows a stack trace")
            elif answer.status_code == 503:
                json_path = answer.request.path_url.startswith("/api/")
                if not answer.headers.get("Retry-After"):
                    found.append(f"{where} without Retry-After")
                elif json_path and "error" not in answer.json():
                    found.append(f"{where} outside the error envelope")
            elif answer.status_code >= 400:
                found.append(f"{where} {answer.text[:200]}")
        return found


def _same_key(cluster, api: Api) -> Api:
    """A client of its own with ``api``'s credentials (hooks on it stay in this test)."""
    client = Api(cluster)
    client.http.headers["Authorization"] = api.http.headers["Authorization"]
    return client


def _retried(call, within: float = 15) -> requests.Response:
    """``call()`` again after each ``503`` (as ``Retry-After`` says, briefly) for a while."""
    deadline = time.monotonic() + within
    while True:
        answer = call()
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(min(float(answer.headers.get("Retry-After", 1)), 1.0))


def _session(api: Api) -> str:
    key = f"drill-{uuid.uuid4().hex}"
    created = _retried(
        lambda: api.request(
            "POST",
            "/api/v1/payment_sessions",
            json=session_body(amount=2500),
            headers={"Idempotency-Key": key},
        )
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _refund(api: Api, session_id: str, amount: int) -> str:
    refund = _retried(
        lambda: api.request(
            "POST",
            "/api/v1/refunds",
            json={"payment_session": session_id, "amount": amount},
            headers={"Idempotency-Key": f"refund-{session_id}"},
        )
    )
    assert refund.status_code == 201, refund.text
    return refund.json()["id"]


def _logs_from(cluster) -> dict[Path, int]:
    """Where each kadosei log ends now, to read only what is written from here on."""
    return {path: path.stat().st_size for path in (cluster.base / "logs").glob("*.log")}


def _written_since(marks: dict[Path, int], prefix: str) -> str:
    text = []
    for path, offset in marks.items():
        if path.name.startswith(prefix):
            with path.open() as log:
                log.seek(offset)
                text.append(log.read())
    return "".join(text)


def test_redis_down_while_customers_pay_and_refunds_settle(cluster, merchant, receiver):
    _, merchant_api, _ = merchant
    answers = AnswerLog()
    api = answers.watch(_same_key(cluster, merchant_api))
    customer = lambda: answers.watch(Api(cluster))  # noqa: E731  (a browser per customer)
    marks = _logs_from(cluster)
    cluster.kill_redis()
    killed_at = time.monotonic()

    came_back = [_session(api) for _ in range(2)]
    walked_away = _session(api)
    for session_id in came_back:  # kadosei confirms with the provider on the customer's return
        pay_on_the_sandbox(cluster, session_id, customer=customer(), come_back=True)
        wait_for_status(api, f"/api/v1/payment_sessions/{session_id}", "succeeded", timeout=5)
    pay_on_the_sandbox(cluster, walked_away, customer=customer())
    refunds = [_refund(api, session_id, 1000) for session_id in came_back]
    # No queue: the provider's notification and the refunds' settlement come by its sweeps.
    wait_for_status(api, f"/api/v1/payment_sessions/{walked_away}", "succeeded", timeout=30)
    for refund_id in refunds:
        wait_for_status(api, f"/api/v1/refunds/{refund_id}", "succeeded", timeout=40)
    paid = [*came_back, walked_away]

    cluster.start_redis()  # empty: whatever was queued is gone
    back_at = time.monotonic()
    # Recovery without a restart: a payment made now is told to kadosei as usual.
    after = _session(api)
    pay_on_the_sandbox(cluster, after, customer=customer())
    wait_for_status(api, f"/api/v1/payment_sessions/{after}", "succeeded", timeout=30)
    recovered_in = time.monotonic() - back_at
    paid.append(after)
    # Sooner than the sandbox's sweep steps in: the queue carried the notification again.
    assert recovered_in < NOTIFICATION_GRACE.total_seconds()

    expected = {(session_id, "payment_session.succeeded") for session_id in paid}
    for refund_id in refunds:
        expected |= {(refund_id, "refund.created"), (refund_id, "refund.succeeded")}
    receiver.wait_for(len(expected), timeout=30)
    time.sleep(2)  # anything sent twice would have arrived by now
    received = list(receiver.received)
    ids = [message["id"] for message in received]
    assert len(ids) == len(set(ids)), "a webhook went out twice"
    assert {(m["object"], m["type"]) for m in received} == expected
    assert len(received) == len(expected), "an event was announced twice"
    during = [m for m in received if m["at"] < back_at]
    last = max(m["at"] for m in received) - back_at

    assert answers.unclean() == []
    assert len(answers.answers) >= 20
    assert "Traceback" not in _written_since(marks, "web-")
    not_notified = _sql(
        cluster,
        "SELECT count(*) FROM sandbox_payments WHERE session_id = ANY(%s) AND notified_at IS NULL",
        paid,
    )
    assert not_notified == [(0,)], "a provider notification was never delivered"
    paid_by = _sql(
        cluster,
        "SELECT session_id, cause FROM session_transitions "
        "WHERE to_status = 'succeeded' AND session_id = ANY(%s)",
        paid,
    )
    assert len(paid_by) == len(paid), "a session was paid twice, or never"
    for session_id in (walked_away, after):  # no customer came back: the notification did it
        assert dict(paid_by)[session_id].startswith("provider notification"), paid_by
    refunded = _sql(
        cluster,
        "SELECT id, amount_refunded FROM payment_sessions WHERE id = ANY(%s)",
        came_back,
    )
    assert sorted(refunded) == sorted((session_id, 1000) for session_id in came_back)
    refused = sum(answer.status_code == 503 for answer in answers.answers)
    print(
        f"\nRedis away {back_at - killed_at:.1f} s: {len(paid) - 1} sessions created and paid "
        f"at the provider, {len(refunds)} refunds made and settled; {len(answers.answers)} "
        f"answers, {refused} of them 503 with Retry-After, the rest successes; "
        f"{len(during)} of {len(expected)} webhooks delivered while it was away. Back empty: "
        f"a new payment notified through the queue and succeeded {recovered_in:.1f} s later, "
        f"the last webhook arrived {max(last, 0):.1f} s after it was back, each once"
    )


def test_worker_killed_mid_delivery(cluster, merchant, receiver):
    _, api, _ = merchant
    receiver.delay = 3.0  # slow enough to be caught in the middle
    _cancel_one(api)
    started = time.monotonic()
    while not receiver.ids() and time.monotonic() - started < 30:
        time.sleep(0.05)
    assert receiver.ids(), "the delivery never started"
    for index in range(cluster.workers):  # whichever holds it: kill them all, hard
        cluster.stop_process(f"worker-{index}", signal.SIGKILL)
    killed_at = time.monotonic()
    receiver.delay = 0.0
    for index in range(cluster.workers):
        cluster.start_worker(index)

    first_id = receiver.ids()[0]
    deadline = killed_at + LEASE_SECONDS + 60
    while time.monotonic() < deadline:
        status = _sql(
            cluster,
            "SELECT d.status FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
            "WHERE e.id = %s",
            first_id,
        )
        if status and status[0][0] == "succeeded":
            break
        time.sleep(0.2)
    took = time.monotonic() - killed_at
    assert status and status[0][0] == "succeeded"
    assert receiver.ids().count(first_id) >= 2  # at least once: sent again after the kill
    print(
        f"\nworker SIGKILLed mid-delivery: delivered again {took:.1f} s later "
        f"(lease {LEASE_SECONDS} s)"
    )


def test_receiver_down_for_a_while(cluster, merchant, receiver):
    _, api, _ = merchant
    receiver.up = False
    _cancel_one(api)
    receiver.wait_for(1, timeout=30)  # the first try, answered 503
    first_id = receiver.ids()[0]
    time.sleep(2)
    receiver.up = True
    back_at = time.monotonic()
    deadline = back_at + 60
    while time.monotonic() < deadline and receiver.ids().count(first_id) < 2:
        time.sleep(0.1)
    assert receiver.ids().count(first_id) >= 2, "never retried"
    rows = _sql(
        cluster,
        "SELECT d.status FROM webhook_deliveries d WHERE d.event_id = %s",
        first_id,
    )
    took = time.monotonic() - back_at
    assert rows and rows[0][0] in ("succeeded", "pending")
    print(f"\nreceiver down then up: retried and delivered {took:.1f} s after it was back")


def test_a_provider_down_during_checkout_fails_over(cluster, merchant):
    _, api, _ = merchant
    session = api.request("POST", "/api/v1/payment_sessions", json=session_body()).json()
    first = api.request("GET", f"/checkout/{session['id']}")
    assert first.status_code == 303
    provider = _sql(cluster, "SELECT provider FROM attempts WHERE session_id = %s", session["id"])[
        0
    ][0]
    flask_cli(cluster, "sandbox", "set", provider, "--down")
    try:
        session = api.request("POST", "/api/v1/payment_sessions", json=session_body()).json()
        started = time.monotonic()
        checkout = api.request("GET", f"/checkout/{session['id']}")
        took = time.monotonic() - started
    finally:
        flask_cli(cluster, "sandbox", "set", provider, "--up")
    assert checkout.status_code == 303
    assert provider.removeprefix("sandbox_") not in checkout.headers["Location"]
    print(f"\n{provider} down: the customer was sent to another provider in {took:.2f} s")
