"""Benchmark: webhook deliveries per second of one worker process to a fast receiver — today's
way (one RQ job per delivery, sent one after another) and a bare worker doing the same database
work in plain SQL (the floor), against the delivery pool, in the same run — and how long another
merchant's delivery takes while one endpoint hangs.

Everything is local and throwaway: a fresh SQLite file (or a PostgreSQL database created and
dropped here with --database-url / DATABASE_URL), the machine's Redis (--redis-url / REDIS_URL,
on a queue name of its own) or else kadosei's embedded queue server, and receivers on 127.0.0.1
that verify every signature. Workers are real ``flask --app app worker`` processes; the old way
is ``flask --app app worker --no-deliveries`` fed ``deliver_webhook`` jobs, which is exactly
what the outbox queued before the pool; the bare worker is this script run with
``--bare-worker``: the pool's database work in plain SQL (claim up to 32 due deliveries in one
statement, send them on 16 threads, log their tries and close them in one transaction) and
nothing else — no fairness, cap, retry schedule, metrics or logs. Bounded: about three
minutes.

    .venv/bin/python bench/webhooks.py [--events 600] [--endpoints 8] [--seconds 10]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--redis-url redis://…]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import bindparam, create_engine, select, text, update  # noqa: E402  (after the path is set)
from sqlalchemy.engine import make_url  # noqa: E402
from standardwebhooks import Webhook  # noqa: E402

from kadosei import create_app  # noqa: E402
from kadosei.config import normalize_database_url  # noqa: E402
from kadosei.extensions import db  # noqa: E402
from kadosei.jobs.queue import get_queue  # noqa: E402
from kadosei.models import WebhookDelivery  # noqa: E402
from kadosei.schemas.requests import (  # noqa: E402
    ApplicationCreate,
    Signup,
    WebhookEndpointCreate,
)
from kadosei.services import accounts, applications, webhook_endpoints  # noqa: E402
from kadosei.services.events import record_event  # noqa: E402

FLASK = str(Path(sys.executable).with_name("flask"))
DELIVER_JOB = "kadosei.webhooks.delivery.deliver_webhook"
SESSION = {"id": "ps_bench", "object": "payment_session", "status": "succeeded", "amount": 1999}
HANG_TIMEOUT = 10  # the contract's try limit: a hanging receiver holds a try this long
THROUGHPUT_LIMIT = 45  # seconds a throughput run may take; what is left is canceled


class Receiver:
    """Merchants' receivers on one loopback port (``/hooks/<n>``, each with its endpoint's
    secret): verifies each delivery and notes when it arrived."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
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
                    Webhook(receiver.secrets[self.path]).verify(body, dict(self.headers))
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

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def arrived(self, event_ids: list[str]) -> int:
        with self.lock:
            return sum(event_id in self.arrivals for event_id in event_ids)

    def wait_for(self, event_ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.arrived(event_ids) == len(event_ids):
                return True
            time.sleep(0.01)
        return False


class HangingReceiver:
    """A receiver that takes the connection and the request, then never answers."""

    def __init__(self) -> None:
        stop = self.stop_event = threading.Event()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.recv(65536)
                stop.wait()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM a worker's process group, then SIGKILL it if its tries outlast their timeout."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=HANG_TIMEOUT * 2 + 10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Worker:
    """One ``flask --app app worker`` process on the bench's database, on a queue of its own
    (``app`` is pointed at it too): a stopped worker can leave a blocking pop behind on the
    embedded queue server, which would take the next job of its queue."""

    def __init__(self, app, env: dict[str, str], *args: str) -> None:
        self.queue_name = f"bench-{uuid.uuid4().hex[:8]}"
        app.config["KADOSEI_QUEUE_NAME"] = self.queue_name
        self.process = subprocess.Popen(
            [FLASK, "--app", "app", "worker", "--sweep-interval", "60", *args],
            cwd=ROOT,
            env={**env, "KADOSEI_QUEUE_NAME": self.queue_name},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, redis_url: str, timeout: float = 30) -> None:
        from redis import Redis
        from rq import Worker as RQWorker

        connection = Redis.from_url(redis_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = RQWorker.all(connection=connection)
            if any(self.queue_name in w.queue_names() for w in workers):
                time.sleep(0.5)  # the delivery pool starts beside the RQ loop
                return
            time.sleep(0.1)
        raise RuntimeError("the worker did not start")

    def stop(self) -> None:
        stop_process(self.process)


BARE_THREADS = 16
BARE_BATCH = 32  # claimed at once, like a pool of 16 threads keeping as many ready


def bare_worker(database_url: str) -> None:
    """The floor: the database work of a delivery pool — claim due deliveries in one statement,
    send them on ``BARE_THREADS`` threads, log their tries and close them in one transaction —
    in plain SQL, with nothing else (no fairness, cap, retry schedule, metrics or logs), until
    SIGTERM. ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer."""
    engine = create_engine(normalize_database_url(database_url))
    skip_locked = " FOR UPDATE SKIP LOCKED" if engine.dialect.name == "postgresql" else ""
    claim = text(
        "UPDATE webhook_deliveries SET locked_until = :lease WHERE id IN (SELECT id FROM"
        " webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= :now AND"
        " (locked_until IS NULL OR locked_until < :now) ORDER BY next_attempt_at"
        f" LIMIT {BARE_BATCH}{skip_locked}) RETURNING id"
    )
    load = text(
        "SELECT d.id, e.url, e.secret, v.id, v.type, v.created_at, v.mode, v.data"
        " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
        " JOIN events v ON v.id = d.event_id WHERE d.id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    log_try = text(
        "INSERT INTO webhook_delivery_tries (delivery_id, attempted_at, status_code,"
        " response_body, duration_ms, succeeded, details)"
        " VALUES (:id, :now, :code, :body, :ms, :ok, :details)"
    )
    close = text(
        "UPDATE webhook_deliveries SET status = 'succeeded', attempt_count = attempt_count + 1,"
        " last_attempt_at = :now, last_status_code = :code, completed_at = :now,"
        " next_attempt_at = NULL, locked_until = NULL WHERE id = :id AND locked_until = :lease"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=BARE_THREADS))

    def send(row) -> dict:
        delivery_id, url, secret, event_id, event_type, created_at, mode, data = row
        body = json.dumps(
            {"id": event_id, "type": event_type, "created_at": str(created_at), "mode": mode,
             "data": data if isinstance(data, dict) else json.loads(data)},
            separators=(",", ":"),
        )  # fmt: skip
        sent_at = datetime.now(UTC)
        headers = {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, sent_at, body),
            "Content-Type": "application/json",
        }
        started = time.monotonic()
        response = http.post(url, data=body.encode(), headers=headers, timeout=10)
        return {
            "id": delivery_id, "code": response.status_code, "body": response.text[:2048],
            "ok": response.ok, "ms": int((time.monotonic() - started) * 1000),
            "details": json.dumps({"url": url}),
        }  # fmt: skip

    with ThreadPoolExecutor(BARE_THREADS) as senders, engine.connect() as conn:
        while not stop.is_set():
            now = datetime.now(UTC).replace(tzinfo=None)
            lease = now + timedelta(seconds=45)
            with conn.begin():
                ids = conn.execute(claim, {"now": now, "lease": lease}).scalars().all()
                rows = conn.execute(load, {"ids": ids}).all() if ids else []
            if not rows:
                stop.wait(0.005)
                continue
            tried = [{**done, "now": now, "lease": lease} for done in senders.map(send, rows)]
            with conn.begin():
                conn.execute(log_try, tried)
                conn.execute(close, tried)
    engine.dispose()


class BareWorker:
    """``bare_worker`` in a process of its own, like a worker."""

    def __init__(self, database_url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--bare-worker", "--database-url", database_url],
            cwd=ROOT,
            start_new_session=True,
        )

    def wait_ready(self, redis_url: str) -> None:
        time.sleep(1.5)  # imports and connections; it then polls every 5 ms

    def stop(self) -> None:
        stop_process(self.process)


class Merchants:
    """Bench merchants, each with one test-mode endpoint, made through the services."""

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0

    def add(self, url: str) -> tuple[str, str]:
        """(application id, endpoint secret) of a new merchant whose endpoint is ``url``."""
        self.count += 1
        with self.app.app_context():
            signup = Signup(
                name=f"Bench {self.count}",
                email=f"bench{self.count}@example.com",
                password="bench password 1",
            )
            merchant, _ = accounts.create_merchant(signup)
            application = applications.create_application(
                merchant.id, ApplicationCreate(name="bench")
            )
            endpoint = webhook_endpoints.create_endpoint(
                application, WebhookEndpointCreate(url=url, mode="test")
            )
            return application.id, endpoint.secret


def commit_events(app, application_ids: list[str], events: int) -> list[str]:
    """``events`` events spread over the applications, committed at once; their ids."""
    with app.app_context():
        ids = [
            record_event(
                application_ids[n % len(application_ids)],
                "test",
                "payment_session.succeeded",
                SESSION,
            ).id
            for n in range(events)
        ]
        db.session.commit()
    return ids


def queue_jobs_the_old_way(app, event_ids: list[str]) -> None:
    """One ``deliver_webhook`` job per delivery, as the outbox queued them before the pool."""
    with app.app_context():
        rows = db.session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(event_ids))
        )
        queue = get_queue()
        queue.enqueue_many([queue.prepare_data(DELIVER_JOB, (row,)) for row in rows])


def throughput(app, receiver: Receiver, application_ids: list[str], events: int, old_way: bool):
    """Deliveries per second: ``events`` committed at once, timed until the last arrives (what
    is left after the time limit is canceled, so the next run starts clean)."""
    ids = commit_events(app, application_ids, events)
    if old_way:
        queue_jobs_the_old_way(app, ids)
    started = time.monotonic()
    complete = receiver.wait_for(ids, timeout=THROUGHPUT_LIMIT)
    elapsed = time.monotonic() - started
    delivered = receiver.arrived(ids)
    if not complete:
        cancel_pending(app)
    return delivered / elapsed, delivered, complete


def cancel_pending(app) -> None:
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .values(status="canceled", next_attempt_at=None)
        )
        db.session.commit()


def other_merchant_latency(
    app, receiver: Receiver, hanging_id: str, other_id: str, args, old_way: bool
) -> tuple[list[float], int]:
    """Commit → receipt of another merchant's deliveries while ``hanging_id``'s endpoint has
    ``args.hanging`` due deliveries that never get an answer."""
    hung = commit_events(app, [hanging_id], args.hanging if not old_way else 2)
    if old_way:
        queue_jobs_the_old_way(app, hung)
    time.sleep(0.5)  # the hanging endpoint's tries are in flight
    committed_at: dict[str, float] = {}
    rate = 1.0 if old_way else args.rate
    end = time.monotonic() + (1 if old_way else args.seconds)
    while time.monotonic() < end:
        (event_id,) = commit_events(app, [other_id], 1)
        if old_way:
            queue_jobs_the_old_way(app, [event_id])
        committed_at[event_id] = time.time()
        time.sleep(1.0 / rate)
    receiver.wait_for(list(committed_at), timeout=HANG_TIMEOUT * 2 + 10 if old_way else 10)
    waits = [receiver.arrivals[e] - t for e, t in committed_at.items() if e in receiver.arrivals]
    return waits, len(committed_at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600, help="events per throughput run")
    parser.add_argument("--endpoints", type=int, default=8, help="merchants sharing the events")
    parser.add_argument("--hanging", type=int, default=40, help="due tries to the hung endpoint")
    parser.add_argument("--rate", type=float, default=10.0, help="other merchant's events/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="hanging run length")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL server (default SQLite)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_worker:
        bare_worker(args.database_url)
        return

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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


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
    settings = {
        "KADOSEI_ENV": "testing",
        "SECRET_KEY": "bench-secret-key-long-enough-for-hs256-signing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": "1",
        "KADOSEI_WEBHOOK_TIMEOUT": HANG_TIMEOUT,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_TIME_COST": 1,
    }
    app = create_app({**settings, "KADOSEI_WEBHOOK_ALLOW_PRIVATE": True})
    env = {**os.environ, **{k: str(v) for k, v in settings.items()}}
    receiver, hanging = Receiver(), HangingReceiver()
    merchants = Merchants(app)
    with app.app_context():
        db.create_all()
    fast_ids = []
    for n in range(args.endpoints):
        application_id, secret = merchants.add(receiver.url(f"/hooks/{n}"))
        receiver.secrets[f"/hooks/{n}"] = secret
        fast_ids.append(application_id)
    hanging_id, _ = merchants.add(hanging.url)
    other_id, secret = merchants.add(receiver.url("/hooks/other"))
    receiver.secrets["/hooks/other"] = secret

    database = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    queue = "embedded queue server" if embedded else "Redis"
    print(f"webhook bench: {database}, {queue}, receivers on loopback, {os.cpu_count()} CPUs")
    print(f"  throughput: {args.events} events over {args.endpoints} endpoints, one worker process")
    rates = {}
    ways = (
        ("before", "one job at a time (before)", lambda: Worker(app, env, "--no-deliveries")),
        ("bare", "bare worker (plain SQL)", lambda: BareWorker(database_url)),
        ("pool", "delivery pool", lambda: Worker(app, env)),
    )
    for way, label, start in ways:
        worker = start()
        try:
            worker.wait_ready(redis_url)
            rate, delivered, complete = throughput(
                app, receiver, fast_ids, args.events, way == "before"
            )
        finally:
            worker.stop()
        rates[way] = rate
        note = "" if complete else f" ({delivered} of {args.events} in {THROUGHPUT_LIMIT} s)"
        print(f"    {label:28} {rate:7.1f} deliveries/s{note}")
    print(
        f"    pool / before: {rates['pool'] / rates['before']:.1f}x, "
        f"pool / bare: {rates['pool'] / rates['bare']:.2f}"
    )

    print(
        f"  another merchant while one endpoint hangs (no answer; tries time out after "
        f"{HANG_TIMEOUT} s):"
    )
    for label, old_way in (("one job at a time (before)", True), ("delivery pool", False)):
        worker = Worker(app, env, "--no-deliveries") if old_way else Worker(app, env)
        try:
            worker.wait_ready(redis_url)
            waits, sent = other_merchant_latency(app, receiver, hanging_id, other_id, args, old_way)
        finally:
            worker.stop()
        behind = "2 hung tries queued first" if old_way else f"{args.hanging} hung tries due"
        if not waits:
            print(f"    {label:28} none of {sent} arrived ({behind})")
            continue
        print(
            f"    {label:28} {len(waits)} of {sent} deliveries ({behind}): "
            f"p50 {percentile(waits, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(waits, 0.99) * 1000:.0f} ms, "
            f"max {max(waits) * 1000:.0f} ms, mean {statistics.mean(waits) * 1000:.0f} ms"
        )
    hanging.close()
    print(f"  signatures that failed to verify: {receiver.invalid}")


if __name__ == "__main__":
    main()
