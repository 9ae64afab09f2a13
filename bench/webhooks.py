"""Benchmark: webhook deliveries per second with 1 and 2 worker processes, and the latency
from an event's commit to its receipt at ~50 events/s.

Everything is local and throwaway: a fresh SQLite file (or a PostgreSQL database created and
dropped here with --database-url), the machine's Redis (--redis-url / REDIS_URL, on a queue
name of its own) or else kadosei's embedded queue server, and a receiver on 127.0.0.1 that
verifies every signature. Workers are real ``flask --app app worker`` processes. Bounded:
well under two minutes.

    .venv/bin/python bench/webhooks.py [--events 300] [--rate 50] [--seconds 10]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--redis-url redis://…]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402  (after the path is set)
from sqlalchemy.engine import make_url  # noqa: E402
from standardwebhooks import Webhook  # noqa: E402

from kadosei import create_app  # noqa: E402
from kadosei.config import normalize_database_url  # noqa: E402
from kadosei.extensions import db  # noqa: E402
from kadosei.schemas.requests import (  # noqa: E402
    ApplicationCreate,
    Signup,
    WebhookEndpointCreate,
)
from kadosei.services import accounts, applications, webhook_endpoints  # noqa: E402
from kadosei.services.events import record_event  # noqa: E402

FLASK = str(Path(sys.executable).with_name("flask"))
SESSION = {"id": "ps_bench", "object": "payment_session", "status": "succeeded", "amount": 1999}


class Receiver:
    """A merchant's receiver on loopback: verifies each delivery, notes when it arrived."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.arrivals: dict[str, float] = {}
        self.invalid = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                arrived = time.time()
                try:
                    Webhook(receiver.secret).verify(body, dict(self.headers))
                    status = 204
                except Exception:
                    status = 400
                with receiver.lock:
                    if status == 204:
                        receiver.arrivals.setdefault(self.headers["webhook-id"], arrived)
                    else:
                        receiver.invalid += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= count:
                return True
            time.sleep(0.01)
        return False


class Workers:
    """``flask --app app worker`` processes on the bench's database and queue."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.processes = [
            subprocess.Popen(
                [FLASK, "--app", "app", "worker", "--sweep-interval", "20"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for _ in range(count)
        ]

    def wait_ready(self, queue_name: str, redis_url: str, timeout: float = 30) -> None:
        from redis import Redis
        from rq import Worker

        connection = Redis.from_url(redis_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listening = [
                w for w in Worker.all(connection=connection) if queue_name in w.queue_names()
            ]
            if len(listening) >= len(self.processes):
                return
            time.sleep(0.1)
        raise RuntimeError("the workers did not start")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def throughput(app, application_id: str, receiver: Receiver, events: int):
    """Deliveries per second: ``events`` committed at once, timed until the last arrives."""
    already = receiver.count()
    started = time.monotonic()
    with app.app_context():
        for _ in range(events):
            record_event(application_id, "test", "payment_session.succeeded", SESSION)
        db.session.commit()  # the outbox listener queues all of them now
    committed = time.monotonic()
    complete = receiver.wait_for(already + events, timeout=60)
    elapsed = time.monotonic() - committed
    delivered = receiver.count() - already
    return delivered / elapsed, delivered, complete, committed - started


def latency(app, application_id: str, receiver: Receiver, rate: float, seconds: float):
    """Commit one event every 1/rate s; latency = its arrival at the receiver − its commit."""
    committed_at: dict[str, float] = {}
    interval = 1.0 / rate
    next_at = time.monotonic()
    end = next_at + seconds
    with app.app_context():
        while time.monotonic() < end:
            event = record_event(application_id, "test", "payment_session.succeeded", SESSION)
            db.session.commit()
            committed_at[event.id] = time.time()
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(e in receiver.arrivals for e in committed_at):
        time.sleep(0.02)
    waits = [receiver.arrivals[e] - t for e, t in committed_at.items() if e in receiver.arrivals]
    return waits, len(committed_at), len(committed_at) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events per throughput run")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second (latency)")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency run length")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (default SQLite)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kadosei-bench-") as folder:
        database_url, drop = throwaway_database(args.database_url, Path(folder))
        embedded = None
        redis_url = args.redis_url
        if not redis_url:
            from kadosei.jobs.embedded import EmbeddedRedisServer

            embedded = EmbeddedRedisServer(port=0).start()
            redis_url = embedded.url
        try:
            run(args, database_url, redis_url, embedded is not None)
        finally:
            if embedded is not None:
                embedded.stop()
            drop()


def throwaway_database(server_url: str | None, folder: Path):
    if not server_url:
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    server = make_url(normalize_database_url(server_url))
    name = f"kadosei_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def run(args, database_url: str, redis_url: str, embedded: bool) -> None:
    queue_name = f"bench-{uuid.uuid4().hex[:8]}"
    settings = {
        "KADOSEI_ENV": "testing",
        "SECRET_KEY": "bench-secret-key-long-enough-for-hs256-signing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KADOSEI_QUEUE_NAME": queue_name,
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": "1",
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_TIME_COST": 1,
    }
    app = create_app({**settings, "KADOSEI_WEBHOOK_ALLOW_PRIVATE": True})
    env = {**os.environ, **{k: str(v) for k, v in settings.items()}}
    receiver = Receiver()
    with app.app_context():
        db.create_all()
        signup = Signup(name="Bench", email="bench@example.com", password="bench password 1")
        merchant, _ = accounts.create_merchant(signup)
        application = applications.create_application(merchant.id, ApplicationCreate(name="bench"))
        endpoint = webhook_endpoints.create_endpoint(
            application, WebhookEndpointCreate(url=receiver.url, mode="test")
        )
        receiver.secret, application_id = endpoint.secret, application.id

    database = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    queue = "embedded queue server" if embedded else "Redis"
    print(f"webhook bench: {database}, {queue}, receiver on loopback, {os.cpu_count()} CPUs")
    for count in (1, 2):
        workers = Workers(env, count)
        try:
            workers.wait_ready(queue_name, redis_url)
            rate, delivered, complete, insert = throughput(
                app, application_id, receiver, args.events
            )
            note = "" if complete else f" (only {delivered} of {args.events} within 60 s)"
            print(
                f"  {count} worker{'s' if count > 1 else ' '}: {rate:7.1f} deliveries/s "
                f"({delivered} events committed in {insert:.2f} s){note}"
            )
            if count == 2:
                waits, sent, achieved = latency(
                    app, application_id, receiver, args.rate, args.seconds
                )
                lost = sent - len(waits)
                print(
                    f"  commit → receipt at {achieved:.0f} events/s (2 workers, {sent} events): "
                    f"p50 {percentile(waits, 0.5) * 1000:.0f} ms, "
                    f"p99 {percentile(waits, 0.99) * 1000:.0f} ms, "
                    f"max {max(waits) * 1000:.0f} ms, mean {statistics.mean(waits) * 1000:.0f} ms"
                    + (f", {lost} not received" if lost else "")
                )
        finally:
            workers.stop()
    print(f"  signatures that failed to verify: {receiver.invalid}")


if __name__ == "__main__":
    main()
