"""Benchmark: kadosei's hot paths next to a bare Flask endpoint doing the same database work.

    .venv/bin/python bench/hot_paths.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--workers 2] [--clients 8] [--seconds 6]

Both servers run under gunicorn (sync workers) on throwaway PostgreSQL databases, measured
one after the other in the same run by a bounded load generator on loopback:

- **session read** — ``GET /api/v1/payment_sessions/{id}`` (API-key auth, one read, the
  representation) vs. a bare ``SELECT`` of one row by id returned as JSON;
- **checkout redirect** — ``GET /checkout/{id}`` of a fresh session (routing, the attempt,
  the sandbox provider's create call, the bookkeeping, the ``303``) vs. a bare endpoint that
  reads the row, inserts an attempt row, updates the session and answers ``303``; and
  kadosei's *own* time in it: the request's latency minus the provider's create call
  (``attempts.duration_ms``), whose p50 the issue asks to keep ≤ 5 ms;
- **notification** — ``POST /providers/{name}/notifications`` with a signed ``succeeded`` for a
  pending payment (verify, apply through the state machine, event and outbox, commit) vs. a
  bare endpoint that checks an HMAC, updates one row and inserts one.

Session creation has its own benchmark (``bench/session_create.py``), webhook delivery too
(``bench/webhooks.py``). Prints req/s, p50 and p99 of each and the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from flask import Flask, redirect, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from session_create import (  # noqa: E402
    SESSION_BODY,
    create_database,
    drop_database,
    free_port,
    kadosei_env,
    prepare_kadosei,
    start_gunicorn,
    stop,
)

from kadosei.config import normalize_database_url  # noqa: E402

BARE_SECRET = b"bench-notification-secret"


# -- the bare endpoints: the same database work, nothing else --------------------------------


class _Base(DeclarativeBase):
    pass


bare_db = SQLAlchemy(model_class=_Base)


class BareSession(bare_db.Model):
    __tablename__ = "bench_sessions"
    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(12))
    body: Mapped[dict] = mapped_column(JSON)


class BareAttempt(bare_db.Model):
    __tablename__ = "bench_attempts"
    pk: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    status: Mapped[str] = mapped_column(String(12))


class BareNotification(bare_db.Model):
    __tablename__ = "bench_notifications"
    pk: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON)


def bare_app() -> Flask:
    """``gunicorn 'hot_paths:bare_app()'``."""
    app = Flask("bare")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(os.environ["DATABASE_URL"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    bare_db.init_app(app)

    @app.get("/sessions/<session_id>")
    def read_session(session_id: str):
        row = bare_db.session.execute(
            bare_db.select(BareSession).filter_by(id=session_id)
        ).scalar_one()
        return {"id": row.id, "status": row.status, **row.body}

    @app.get("/checkout/<session_id>")
    def checkout(session_id: str):
        row = bare_db.session.execute(
            bare_db.select(BareSession).filter_by(id=session_id)
        ).scalar_one()
        reference = f"pay_{uuid.uuid4().hex}"
        bare_db.session.add(BareAttempt(session_id=row.id, reference=reference, status="pending"))
        row.status = "open"
        bare_db.session.commit()
        return redirect(f"https://psp.example/pay/{reference}", 303)

    @app.post("/notifications")
    def notification():
        body = request.get_data()
        expected = hmac.new(BARE_SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
            return {"error": "bad signature"}, 400
        payload = json.loads(body)
        attempt = bare_db.session.execute(
            bare_db.select(BareAttempt).filter_by(reference=payload["reference"])
        ).scalar_one()
        attempt.status = payload["status"]
        bare_db.session.add(BareNotification(reference=attempt.reference, payload=payload))
        bare_db.session.commit()
        return {"received": True}

    return app


# -- the load generator: each request taken from a shared supply -----------------------------

Request = tuple[str, str, dict, bytes | None, str]  # method, path, headers, body, label


def drive(port: int, supply: Iterator[Request], clients: int, seconds: float, ok: int) -> dict:
    """``clients`` threads sending what ``supply`` yields, back to back, for ``seconds`` (or
    until it runs dry); latencies of the answers with status ``ok``, by label."""
    lock = threading.Lock()
    latencies: dict[str, float] = {}
    errors = [0]
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            with lock:
                item = next(supply, None)
            if item is None:
                break
            method, path, headers, body, label = item
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                good = response.status == ok
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                good = False
            took = time.perf_counter() - started
            with lock:
                if good:
                    latencies[label] = took
                else:
                    errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "errors": errors[0], "elapsed": time.monotonic() - began}


def figures(result: dict) -> dict:
    values = sorted(result["latencies"].values())
    return {
        "requests": len(values),
        "errors": result["errors"],
        "rps": len(values) / result["elapsed"] if result["elapsed"] else 0.0,
        "p50_ms": 1000 * statistics.median(values) if values else float("nan"),
        "p99_ms": 1000 * values[max(0, int(len(values) * 0.99) - 1)] if values else float("nan"),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] if ordered else float("nan")


# -- kadosei's side: sessions, checkouts and notifications of its own --------------------------


def _json_call(port: int, method: str, path: str, headers: dict, body: dict | None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status not in (200, 201):
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data)


def make_sessions(port: int, headers: dict, count: int, clients: int = 8) -> list[str]:
    """``count`` open sessions made through the API (in parallel)."""
    made: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for _ in range(n):
            session = _json_call(port, "POST", "/api/v1/payment_sessions", headers, SESSION_BODY)
            with lock:
                made.append(session["id"])

    shares = [count // clients + (1 if n < count % clients else 0) for n in range(clients)]
    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return made


def provider_call_ms(database_url: str, session_ids: list[str]) -> dict[str, float]:
    """Each session's first attempt's provider create call, in ms (``attempts.duration_ms``)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(normalize_database_url(database_url))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT session_id, duration_ms FROM attempts WHERE session_id = ANY(:ids) "
                "AND duration_ms IS NOT NULL"
            ),
            {"ids": session_ids},
        ).all()
    engine.dispose()
    return {session_id: float(ms) for session_id, ms in rows}


def signed_notifications(database_url: str, session_ids: list[str]) -> list[Request]:
    """For each session's pending sandbox payment, the signed ``succeeded`` its PSP would send."""
    from kadosei import create_app
    from kadosei.models import Attempt
    from kadosei.sandbox.models import SandboxPayment
    from kadosei.sandbox.schemes import build_notification

    env = kadosei_env(database_url)
    app = create_app(
        {"KADOSEI_ENV": "testing", "SECRET_KEY": env["SECRET_KEY"], "DATABASE_URL": database_url,
         "KADOSEI_PUBLIC_URL": env["KADOSEI_PUBLIC_URL"]}
    )  # fmt: skip
    requests: list[Request] = []
    with app.app_context():
        attempts = Attempt.query.filter(
            Attempt.session_id.in_(session_ids), Attempt.status == "pending"
        ).all()
        for attempt in attempts:
            stored = SandboxPayment.query.filter_by(id=attempt.provider_reference).one()
            stored.status = "succeeded"  # what the PSP reports; never flushed
            body, headers = build_notification(stored)
            requests.append(
                ("POST", f"/providers/{attempt.provider}/notifications",
                 {**headers, "Content-Type": "application/json", "X-Forwarded-Proto": "https"},
                 body, attempt.id)
            )  # fmt: skip
        from kadosei.extensions import db

        db.session.rollback()
    return requests


# -- the run ---------------------------------------------------------------------------------


def prepare_bare_rows(database_url: str, count: int) -> tuple[list[str], list[str]]:
    """The bare tables, ``count`` sessions for reads and checkouts, and ``count`` attempts."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(normalize_database_url(database_url))
    _Base.metadata.create_all(engine)
    sessions = [f"ps_{uuid.uuid4().hex}" for _ in range(count)]
    references = [f"ref_{uuid.uuid4().hex}" for _ in range(count)]
    with Session(engine) as db:
        db.add_all(BareSession(id=i, status="open", body=SESSION_BODY) for i in sessions)
        db.add_all(
            BareAttempt(session_id=s, reference=r, status="pending")
            for s, r in zip(sessions, references, strict=True)
        )
        db.commit()
    engine.dispose()
    return sessions, references


def cycle(make: Callable[[int], Request]) -> Iterator[Request]:
    n = 0
    while True:
        yield make(n)
        n += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--sessions", type=int, default=1600, help="fresh sessions to check out")
    parser.add_argument("--alone", type=int, default=100, help="checkouts timed one at a time")
    args = parser.parse_args()

    databases = {name: create_database(args.database_url) for name in ("bare", "kadosei")}
    redis_port = free_port()
    servers: list[subprocess.Popen] = [
        subprocess.Popen(  # a Redis of the run's own: queue, rate limits, routing statistics
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    results: dict[str, dict] = {}
    try:
        # Each checkout takes a fresh session: ``--sessions`` under load, ``--alone`` more alone.
        total = args.sessions + args.alone
        bare_sessions, bare_refs = prepare_bare_rows(databases["bare"], total)
        bare_port = free_port()
        servers.append(
            start_gunicorn(ROOT, "hot_paths:bare_app()", bare_port, args.workers,
                           {"DATABASE_URL": databases["bare"], "REDIS_URL": ""})
        )  # fmt: skip
        port = free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        server, secret = prepare_kadosei(ROOT, databases["kadosei"], port, args.workers, redis_url)
        servers.append(server)
        api = {"Authorization": f"Bearer {secret}", "X-Forwarded-Proto": "https"}
        https = {"X-Forwarded-Proto": "https"}
        sessions = make_sessions(port, {**api, "Content-Type": "application/json"}, total)

        # session read
        results["bare read"] = figures(drive(bare_port, cycle(lambda n: (
            "GET", f"/sessions/{bare_sessions[n % len(bare_sessions)]}", {}, None, str(n))),
            args.clients, args.seconds, 200))  # fmt: skip
        results["kadosei read"] = figures(drive(port, cycle(lambda n: (
            "GET", f"/api/v1/payment_sessions/{sessions[n % len(sessions)]}", api, None, str(n))),
            args.clients, args.seconds, 200))  # fmt: skip

        # checkout redirect: each session once
        bare_checkout = drive(bare_port, iter([
            ("GET", f"/checkout/{s}", {}, None, s) for s in bare_sessions[: args.sessions]]),
            args.clients, args.seconds, 303)  # fmt: skip
        results["bare checkout"] = figures(bare_checkout)
        bare_alone = drive(bare_port, iter([
            ("GET", f"/checkout/{s}", {}, None, s) for s in bare_sessions[args.sessions :]]),
            1, args.seconds * 4, 303)  # fmt: skip
        checkout = drive(port, iter([
            ("GET", f"/checkout/{s}", https, None, s) for s in sessions[: args.sessions]]),
            args.clients, args.seconds, 303)  # fmt: skip
        results["kadosei checkout"] = figures(checkout)
        checked_out = list(checkout["latencies"])
        # kadosei's own time, without queueing behind other requests: one customer at a time
        alone = sessions[args.sessions :]
        one_by_one = drive(port, iter([("GET", f"/checkout/{s}", https, None, s) for s in alone]),
                           1, args.seconds * 4, 303)  # fmt: skip
        provider_ms = provider_call_ms(databases["kadosei"], list(one_by_one["latencies"]))
        own = [
            1000 * latency - provider_ms[session_id]
            for session_id, latency in one_by_one["latencies"].items()
            if session_id in provider_ms
        ]

        # notifications: a signed success for each pending payment
        def bare_notification(n: int) -> Request:
            body = json.dumps({"reference": bare_refs[n], "status": "succeeded"}).encode()
            signature = hmac.new(BARE_SECRET, body, hashlib.sha256).hexdigest()
            headers = {"X-Signature": signature, "Content-Type": "application/json"}
            return ("POST", "/notifications", headers, body, str(n))

        results["bare notification"] = figures(drive(
            bare_port, (bare_notification(n) for n in range(len(bare_refs))),
            args.clients, args.seconds, 200))  # fmt: skip
        notifications = signed_notifications(databases["kadosei"], checked_out)
        results["kadosei notification"] = figures(
            drive(port, iter(notifications), args.clients, args.seconds, 200)
        )
    finally:
        for server in servers:
            stop(server)
        for database_url in databases.values():
            drop_database(args.database_url, database_url)

    print(
        f"gunicorn {args.workers} sync workers each, PostgreSQL, {args.clients} client threads, "
        f"up to {args.seconds:g} s per target"
    )
    for name, result in results.items():
        print(
            f"{name:22s} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.1f} ms  "
            f"p99 {result['p99_ms']:6.1f} ms  ({result['requests']} ok, {result['errors']} errors)"
        )
    for path in ("read", "checkout", "notification"):
        ratio = results[f"kadosei {path}"]["rps"] / results[f"bare {path}"]["rps"]
        print(f"{path}: kadosei {ratio:.2f} x bare")
    if own:
        print(
            f"checkout one at a time, kadosei's own time (latency minus the provider's create "
            f"call, {len(own)} checkouts): "
            f"p50 {statistics.median(own):.1f} ms, p99 {percentile(own, 0.99):.1f} ms "
            f"(aim: p50 <= 5 ms)"
        )
    alone_bare = [1000 * v for v in bare_alone["latencies"].values()]
    if alone_bare:
        print(
            f"bare checkout one at a time (the floor: HTTP, one read, one insert, one update, "
            f"a commit; {len(alone_bare)} checkouts): p50 {statistics.median(alone_bare):.1f} ms, "
            f"p99 {percentile(alone_bare, 0.99):.1f} ms"
        )
    failed = {name: r["errors"] for name, r in results.items() if r["errors"]}
    if failed:
        raise SystemExit(f"errors under load: {failed}")


if __name__ == "__main__":
    main()
