"""Concurrent refunds of one session never add up to more than the provider took
(docs/api.md §4.3): many refunds fired at once against a live threaded server. On PostgreSQL
the session's row lock serialises them (SQLite serialises every write anyway)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from refunds_support import paid_session
from sqlalchemy import func, select
from werkzeug.serving import make_server

from kadosei.extensions import db
from kadosei.models import Refund
from kadosei.sandbox.models import SandboxRefund
from tests.conftest import make_test_app

RACERS = 10


def test_refunds_fired_at_once_never_exceed_what_was_captured(
    database_url, redis_url, merchant, customer, test_key
):
    session = paid_session(merchant, customer, amount=1000)
    server_app = make_test_app(
        database_url, redis_url, KADOSEI_PROXY_COUNT=1, SANDBOX_REFUND_SECONDS=0
    )
    server = make_server("127.0.0.1", 0, server_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/refunds"
    headers = {**merchant.headers, "X-Forwarded-Proto": "https"}
    start = threading.Barrier(RACERS)

    def fire(index: int) -> requests.Response:
        start.wait()
        body = {"payment_session": session["id"], "amount": 300}
        return requests.post(url, json=body, headers=headers, timeout=60)

    try:
        with ThreadPoolExecutor(RACERS) as pool:
            answers = list(pool.map(fire, range(RACERS)))
    finally:
        server.shutdown()
        with server_app.app_context():
            db.engine.dispose()

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 3 + [422] * (RACERS - 3), [a.text for a in answers]
    refused = [a.json()["error"]["code"] for a in answers if a.status_code == 422]
    assert set(refused) == {"amount_exceeds_refundable"}
    kept = db.session.scalar(select(func.sum(Refund.amount)).where(Refund.status != "failed"))
    assert kept == 900 and Refund.query.count() == 3
    assert SandboxRefund.query.count() == 3
