"""Shared pieces of the webhook tests: a real local HTTP receiver that verifies signatures with
the ``standardwebhooks`` library, an app wired to the run's Redis, and event helpers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from kadosei.extensions import db
from kadosei.models import Event, WebhookDelivery
from kadosei.schemas.requests import WebhookEndpointCreate
from kadosei.services import webhook_endpoints
from kadosei.services.events import record_event

REPO = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> dict:
        """The payload, if the signature verifies with ``secret`` (raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)

    def verifies(self, secret: str) -> bool:
        try:
            self.verify(secret)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Receiver:
    """A merchant's webhook receiver on 127.0.0.1: records every request, answers ``status``
    (or what ``respond`` says) after ``delay`` seconds. Given a ``secret``, it verifies like a
    real receiver: a request that does not verify is answered 400 and kept in ``rejected``."""

    status: int = 200
    delay: float = 0.0
    respond: Callable[[Received], int] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    secret: str | None = None
    rejected: list[Received] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    started: int = 0  # requests that have begun (received counts finished ones)
    in_flight: int = 0  # requests begun and not yet answered
    most_in_flight: int = 0  # the most ever in flight at once
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                with receiver._arrived:
                    receiver.started += 1
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                    receiver._arrived.notify_all()
                length = int(self.headers.get("Content-Length") or 0)
                item = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    time.monotonic(),
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                verified = receiver.secret is None or item.verifies(receiver.secret)
                status = receiver.respond(item) if receiver.respond else receiver.status
                status = status if verified else 400
                answer = json.dumps({"received": True, "status": status}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    for name, value in receiver.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up (timeout test): it still counts as received
                with receiver._arrived:
                    receiver.in_flight -= 1
                    (receiver.received if verified else receiver.rejected).append(item)
                    receiver._arrived.notify_all()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            return list(self.received)

    def wait_for_start(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` requests have begun (e.g. one is in flight right now)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self.started >= count, timeout)

    def event_ids(self) -> list[str]:
        with self._lock:
            return [item.event_id for item in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def webhook_app(app, redis_url, redis_client):
    """The test app, on the run's Redis, letting test-mode endpoints target 127.0.0.1. Its queue
    has a name of its own: a worker process of an earlier test may leave a blocking pop behind
    on the embedded queue server, which would take the next job of a queue of the same name."""
    app.config.update(
        KADOSEI_QUEUE_NAME=f"kadosei-{uuid.uuid4().hex[:8]}",
        REDIS_URL=redis_url,
        KADOSEI_WEBHOOK_ALLOW_PRIVATE=True,
        KADOSEI_WEBHOOK_TIMEOUT=2.0,
    )
    app.extensions.pop("kadosei_redis", None)
    return app


def make_endpoint(factories, url: str, *, mode: str = "test", events=None, merchant=None):
    """A merchant's application with one webhook endpoint, created through the service."""
    application = factories.make_application(merchant)
    data = {"url": url, "mode": mode}
    if events is not None:
        data["events"] = events
    endpoint = webhook_endpoints.create_endpoint(application, WebhookEndpointCreate(**data))
    return application, endpoint


def emit(application, event_type: str = "payment_session.succeeded", *, mode: str = "test"):
    """Record an event the way the payment code does, and commit it (``application`` may be
    the row or its id: a worker run in this process detaches the test's rows)."""
    application_id = application if isinstance(application, str) else application.id
    event = record_event(
        application_id,
        mode,
        event_type,
        {"id": "ps_test", "object": "payment_session", "status": "succeeded", "amount": 1999},
    )
    db.session.commit()
    return event


def event_ids(events: list[Event]) -> set[str]:
    return {event.id for event in events}


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.pk)))


def worker_env(app) -> dict[str, str]:
    return {
        **os.environ,
        "KADOSEI_ENV": "testing",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "KADOSEI_QUEUE_NAME": app.config["KADOSEI_QUEUE_NAME"],
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": "1",
        "KADOSEI_WEBHOOK_TIMEOUT": "2",
        "KADOSEI_WEBHOOK_LEASE_SECONDS": "3",
        "PYTHONUNBUFFERED": "1",
    }


def start_worker(
    app, *args: str, capture: bool = False, log_file: Path | None = None, **env: str
) -> subprocess.Popen:
    """A real ``flask --app app worker`` process on the test's database and Redis (its stderr
    kept only for a burst, whose output is read to the end: a full pipe would stall it; or
    written to ``log_file``, for a test to show when the worker did not do as expected)."""
    if log_file is not None:
        stderr = log_file.open("wb")
    else:
        stderr = subprocess.PIPE if capture else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [FLASK, "--app", "app", "worker", *args],
            cwd=REPO,
            env={**worker_env(app), **env},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    finally:
        if log_file is not None:
            stderr.close()  # the worker holds its own copy


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_all_succeeded(count: int, timeout: float) -> list[WebhookDelivery]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = deliveries()
        db.session.commit()  # end the read so the worker process is never blocked by us
        if len(rows) == count and all(d.status == "succeeded" for d in rows):
            return rows
        time.sleep(0.2)
    return deliveries()
