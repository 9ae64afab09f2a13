"""``Idempotency-Key`` on session creation (docs/api.md §4): replay, reuse with another body, a
refused request's key can be retried, scoping, and real concurrency never makes two."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from payments_support import session_body
from werkzeug.serving import make_server

from kadosei.jobs.sweeps import run_sweeps
from kadosei.models import IdempotencyRecord, PaymentSession
from kadosei.models.base import utcnow
from kadosei.services.idempotency import prune_idempotency_records
from tests.conftest import make_test_app


def test_the_same_key_and_body_replays_the_first_response(merchant):
    first = merchant.create(key="order-42")
    again = merchant.create(key="order-42")

    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert PaymentSession.query.count() == 1


def test_the_same_json_value_in_another_key_order_is_the_same_body(merchant):
    body = session_body()
    first = merchant.create(body, key="k1")
    reordered = merchant.create(dict(reversed(list(body.items()))), key="k1")

    assert reordered.status_code == 201 and reordered.json == first.json


def test_the_same_key_with_another_body_is_409_reused(merchant):
    merchant.create(key="order-42")
    other = merchant.create(key="order-42", amount=2500)

    assert other.status_code == 409
    assert other.json["error"]["type"] == "idempotency_error"
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert PaymentSession.query.count() == 1


def test_a_request_refused_by_validation_can_be_corrected_with_the_same_key(merchant):
    refused = merchant.create(key="order-42", amount=0)
    corrected = merchant.create(key="order-42")

    assert refused.status_code == 400
    assert corrected.status_code == 201
    assert PaymentSession.query.count() == 1


def test_a_request_refused_for_no_provider_keeps_nothing(merchant):
    refused = merchant.create(key="k", payment_method="ideal", currency="USD")
    corrected = merchant.create(key="k")

    assert refused.status_code == 422 and corrected.status_code == 201


def test_a_key_still_in_flight_is_409_in_use(app, merchant, test_key, db):
    application, _ = test_key
    body = session_body()
    from kadosei.services.idempotency import request_fingerprint

    db.session.add(
        IdempotencyRecord(
            application_id=application.id, mode="test", key="busy",
            request_hash=request_fingerprint(body),
        )
    )  # fmt: skip
    db.session.commit()

    response = merchant.create(body, key="busy")

    assert response.status_code == 409
    assert response.json["error"]["code"] == "idempotency_key_in_use"
    assert PaymentSession.query.count() == 0


def test_keys_are_scoped_to_the_application_and_mode(client, factories, merchant, test_key):
    application, _ = test_key
    _, live_secret = factories.make_api_key(application, "live")
    other_app = factories.make_application(name="Other")
    _, other_secret = factories.make_api_key(other_app, "test")
    first = merchant.create(key="shared")
    other = client.post(
        "/api/v1/payment_sessions",
        json=session_body(),
        headers={**factories.key_headers(other_secret), "Idempotency-Key": "shared"},
    )

    live = client.post(
        "/api/v1/payment_sessions",
        json=session_body(amount=5),
        headers={**factories.key_headers(live_secret), "Idempotency-Key": "shared"},
    )

    assert other.status_code == 201 and other.json["id"] != first.json["id"]
    assert live.status_code == 422  # not 409: the live mode never saw the test-mode key


def test_an_overlong_key_is_refused(merchant):
    response = merchant.create(key="k" * 256)

    assert response.status_code == 400
    assert response.json["error"]["param"] == "Idempotency-Key"
    assert merchant.create(key="k" * 255).status_code == 201


def test_keys_older_than_a_day_are_pruned(merchant, db):
    merchant.create(key="old")
    record = IdempotencyRecord.query.one()
    record.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()

    merchant.create(key="new")

    run_sweeps()  # the worker's periodic sweeps include the pruning

    assert [r.key for r in IdempotencyRecord.query.all()] == ["new"]
    assert prune_idempotency_records() == 0


def test_creating_a_session_does_not_need_redis(database_url, factories, app):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    no_redis = make_test_app(database_url, "redis://127.0.0.1:1/0")
    with no_redis.app_context():
        response = no_redis.test_client().post(
            "/api/v1/payment_sessions",
            json=session_body(),
            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "k"},
            base_url="https://localhost",
        )

    assert response.status_code == 201


def test_concurrent_duplicates_against_a_live_server_create_one_session(
    database_url, redis_url, factories, app
):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    server_app = make_test_app(database_url, redis_url, KADOSEI_PROXY_COUNT=1)
    server = make_server("127.0.0.1", 0, server_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/payment_sessions"
    headers = {
        "Authorization": f"Bearer {secret}",
        "Idempotency-Key": "checkout-7",
        "X-Forwarded-Proto": "https",
    }
    start = threading.Barrier(12)

    def fire(_):
        start.wait()
        return requests.post(url, json=session_body(), headers=headers, timeout=30)

    try:
        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(fire, range(12)))
    finally:
        server.shutdown()
        with server_app.app_context():
            from kadosei.extensions import db

            db.engine.dispose()

    created = [r.json() for r in responses if r.status_code == 201]
    in_use = [r for r in responses if r.status_code == 409]
    print(f"concurrent duplicates: {len(created)} x 201, {len(in_use)} x 409")
    assert len(created) + len(in_use) == 12
    assert created and all(body == created[0] for body in created)
    assert all(r.json()["error"]["code"] == "idempotency_key_in_use" for r in in_use)
    assert PaymentSession.query.count() == 1


def test_a_duplicate_of_a_request_still_running_is_409_in_use_on_postgresql(
    app, merchant, test_key, db
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: a duplicate waits for the first")
    application, _ = test_key
    body = session_body()
    from kadosei.services.idempotency import request_fingerprint

    holder = db.engine.connect()  # the first request, mid-way: its claim not yet committed
    transaction = holder.begin()
    holder.execute(
        IdempotencyRecord.__table__.insert().values(
            application_id=application.id, mode="test", key="running",
            request_hash=request_fingerprint(body), status="in_progress",
            created_at=utcnow(),
        )
    )  # fmt: skip
    try:
        started = time.monotonic()
        response = merchant.create(body, key="running")
        waited = time.monotonic() - started
    finally:
        transaction.rollback()  # the first request fails: nothing of it is kept
        holder.close()

    assert response.status_code == 409
    assert response.json["error"]["code"] == "idempotency_key_in_use"
    assert waited < 10  # the lock timeout (5 s), not forever
    assert merchant.create(body, key="running").status_code == 201  # the key is free again
    assert PaymentSession.query.count() == 1


def test_the_claim_and_the_session_commit_together(merchant, db):
    response = merchant.create(session_body(), key="together")

    record = IdempotencyRecord.query.filter_by(key="together").one()
    assert response.status_code == 201
    assert record.status == "completed"
    assert record.response_body["id"] == response.json["id"]
