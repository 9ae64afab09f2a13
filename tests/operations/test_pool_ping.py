"""The pool pings only connections that idled (``kadosei/pool_ping.py``): one cut by the
database while idle is replaced before use; one cut a moment after it was handed back costs that
one request a clean 503, and the next request connects afresh. PostgreSQL only: it is the server
that cuts connections (``pg_terminate_backend``), as a restart or a proxy's idle timeout would."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from kadosei import pool_ping
from kadosei.extensions import db


@pytest.fixture
def postgres(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL cuts the connections here")
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


def _backend_pid() -> int:
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.session.commit()  # the connection goes back to the pool
    return pid


def _terminate(admin, pid: int) -> None:
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    for _ in range(50):  # until the server has really let it go
        with admin.connect() as conn:
            gone = not conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar()
        if gone:
            return
        time.sleep(0.02)


def test_a_connection_cut_while_idle_is_replaced_before_use(app, client, postgres, monkeypatch):
    monkeypatch.setattr(pool_ping, "PING_AFTER_IDLE_SECONDS", 0.05)
    db.engine.dispose()
    pid = _backend_pid()
    _terminate(postgres, pid)
    time.sleep(0.1)  # idle longer than the threshold: pinged at checkout

    response = client.get("/readyz")

    assert response.status_code == 200, response.json
    assert _backend_pid() != pid


def test_a_connection_cut_a_moment_ago_fails_one_request_cleanly_then_reconnects(
    app, client, postgres, monkeypatch
):
    monkeypatch.setattr(pool_ping, "PING_AFTER_IDLE_SECONDS", 3600)
    db.engine.dispose()
    pid = _backend_pid()
    _terminate(postgres, pid)

    first = client.get("/api/v1/payment_sessions", headers={"Authorization": "Bearer ks_test_x"})
    second = client.get("/readyz")

    assert first.status_code == 503
    assert first.headers["Retry-After"]
    assert first.json["error"]["code"] == "service_unavailable"
    assert second.status_code == 200, second.json
    assert _backend_pid() != pid
