"""Pessimistic disconnect handling that costs no round trip on a busy connection.

SQLAlchemy's ``pool_pre_ping`` pings the database on every checkout from the pool, and a
session hands its connection back at every commit: a checkout redirect (claim the attempt,
call the provider, record it) would ping twice. Here a connection is pinged only when it sat
in the pool longer than ``PING_AFTER_IDLE_SECONDS`` — long enough for a database restart or a
proxy's idle timeout to have cut it. A connection handed back milliseconds ago is used as it
is; should the database have gone away in between, the statement fails as a disconnect,
SQLAlchemy invalidates the whole pool, that one request answers ``503`` with ``Retry-After``
(``kadosei.error_handlers``), and the next one connects afresh.
"""

from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE_SECONDS = 1.0


def ping_idle_connections(engine: Engine) -> None:
    """Install the idle-only ping on ``engine``'s pool (once per engine)."""
    if event.contains(engine, "checkin", _stamp_idle):
        return
    dialect = engine.dialect

    def ping_if_idle(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or back in the pool only a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"connection lost while idle: {exc}") from exc

    event.listen(engine, "checkin", _stamp_idle)
    event.listen(engine, "checkout", ping_if_idle)


def _stamp_idle(dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()
