"""Plumbing shared by the fake PSP servers: a threaded HTTP server on a free loopback port,
a record of every request, failure knobs, idempotent replays and notification delivery.

A provider fake subclasses :class:`FakePspServer`, declares its routes (endpoints whose name
starts with ``api_`` are the provider's API: authenticated, subject to ``fail_next`` and
``hang_next``, idempotent when the client sends an ``Idempotency-Key``; the others are the
customer's hosted pages) and says how its errors look.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from html import escape
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import requests
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

# A sender delivers one notification: (url, headers, body) -> (status, response body).
Sender = Callable[[str, Mapping[str, str], bytes], tuple[int, bytes]]


class CardOutcome(StrEnum):
    """What a test card does on a fake's hosted page (the same numbers work on every fake)."""

    SUCCEEDS = "succeeds"
    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    PROCESSING = "processing"  # accepted, settles later (see each fake's ``settle``)
    INVALID_NUMBER = "invalid_number"


TEST_CARDS: dict[str, CardOutcome] = {
    "4242424242424242": CardOutcome.SUCCEEDS,
    "4000000000000002": CardOutcome.DECLINED,
    "4000000000009995": CardOutcome.INSUFFICIENT_FUNDS,
    "4000000000000259": CardOutcome.PROCESSING,
}


def card_outcome(card_number: str) -> CardOutcome:
    return TEST_CARDS.get("".join(card_number.split()), CardOutcome.INVALID_NUMBER)


@dataclass(frozen=True)
class RecordedRequest:
    """One request a fake received, as the test wants to assert on it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed: a dict for JSON or form bodies, None when empty or unparseable
    raw_body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True)
class DeliveryAttempt:
    status: int  # 0 when the receiver could not be reached
    body: bytes


@dataclass
class Notification:
    """A notification the fake sent (or holds) for the merchant's endpoint."""

    url: str
    headers: dict[str, str]
    body: bytes
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    @property
    def payload(self) -> Any:
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return dict(parse_qsl(self.body.decode()))
        return json.loads(self.body)

    @property
    def delivered(self) -> bool:
        return any(200 <= attempt.status < 300 for attempt in self.attempts)


def post_over_http(url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
    """The default sender: a real HTTP POST, as the provider would make."""
    try:
        response = requests.post(url, data=body, headers=dict(headers), timeout=10)
    except requests.RequestException as exc:
        return 0, str(exc).encode()
    return response.status_code, response.content


def flask_client_sender(client: Any) -> Sender:
    """A sender that posts through a Flask/werkzeug test client (only the URL's path counts)."""

    def send(url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.post(target, data=body, headers=dict(headers))
        return response.status_code, response.get_data()

    return send


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LoopbackServer:
    """A threaded WSGI server on 127.0.0.1 and a free port; ``with`` starts and stops it."""

    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def wsgi(self, environ: dict, start_response: Callable) -> Any:
        raise NotImplementedError

    def start(self) -> Self:
        self._stopping.clear()
        self._server = make_server(
            "127.0.0.1", 0, self.wsgi, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends any hanging request at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakePspServer(LoopbackServer):
    """The common behaviour of the provider fakes; state lives in memory, per instance."""

    replay_header = "Idempotent-Replayed"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self.notifications: list[Notification] = []
        self._pending: list[Notification] = []
        self._failures: deque[tuple[int, dict[str, Any]]] = deque()
        self._hangs: deque[float] = deque()
        self._idempotent: dict[tuple[str, str], tuple[str, Response]] = {}
        self.hold_notifications = False
        self.sender: Sender = post_over_http
        self.url_map = Map(self.routes())

    # -- what a provider fake declares ---------------------------------------------------------

    def routes(self) -> list[Rule]:
        raise NotImplementedError

    def error_response(self, status: int, **fields: Any) -> Response:
        """The provider's error body for ``status`` (fields override the defaults)."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> Response | None:
        """None when the request carries valid credentials, else the provider's 401."""
        raise NotImplementedError

    def idempotency_conflict(self, key: str) -> Response:
        return self.error_response(400, message=f"Idempotency key {key!r} reused")

    def parse_body(self, request: Request) -> Any:
        raw = request.get_data()
        if not raw:
            return None
        if request.mimetype == "application/x-www-form-urlencoded":
            return dict(parse_qsl(raw.decode(), keep_blank_values=True))
        try:
            return json.loads(raw)
        except ValueError:
            return None

    # -- knobs for tests -----------------------------------------------------------------------

    def fail_next(self, status: int = 500, times: int = 1, **fields: Any) -> None:
        """The next ``times`` API requests answer the provider's error for ``status``.

        Nothing is executed and nothing is stored for idempotency, so a retry with the same
        key runs for real (a transient outage, as opposed to a replayed result).
        """
        with self._lock:
            self._failures.extend([(status, fields)] * times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """The next ``times`` API requests wait ``seconds`` before being handled normally.

        The work is still done (a client that timed out may have created something): that is
        how a slow provider behaves. Stopping the server ends the wait.
        """
        with self._lock:
            self._hangs.extend([seconds] * times)

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        with self._lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    # -- notifications -------------------------------------------------------------------------

    def queue_notification(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        """Keep a notification to send once the current request's lock is released."""
        notification = Notification(url=url, headers=dict(headers), body=body)
        with self._lock:
            self.notifications.append(notification)
            self._pending.append(notification)

    def deliver_pending(self) -> list[Notification]:
        """Send every notification not yet sent (those held by ``hold_notifications``)."""
        with self._lock:
            batch, self._pending = self._pending, []
        for notification in batch:
            self.redeliver(notification)
        return batch

    def redeliver(self, notification: Notification) -> DeliveryAttempt:
        """Send a notification again, byte for byte (a provider retry, or a replay)."""
        status, body = self.sender(notification.url, notification.headers, notification.body)
        attempt = DeliveryAttempt(status=status, body=body)
        with self._lock:
            notification.attempts.append(attempt)
        return attempt

    def send_raw(self, url: str, headers: Mapping[str, str], body: bytes) -> DeliveryAttempt:
        """Send something that looks like a notification but was never queued (a forgery)."""
        status, response = self.sender(url, dict(headers), body)
        return DeliveryAttempt(status=status, body=response)

    def _flush(self) -> None:
        if not self.hold_notifications:
            self.deliver_pending()

    def _run(self, action: Callable[[], Any]) -> Any:
        """Run a state change under the lock, then send what it queued (helpers use this)."""
        with self._lock:
            result = action()
        self._flush()
        return result

    # -- the WSGI side -------------------------------------------------------------------------

    def wsgi(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _record(self, request: Request) -> None:
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.args.to_dict(),
            headers=dict(request.headers.items()),
            body=self.parse_body(request),
            raw_body=request.get_data(),
        )
        with self._lock:
            self.requests.append(recorded)

    def _dispatch(self, request: Request) -> Response:
        self._record(request)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self.error_response(404)
        except MethodNotAllowed:
            return self.error_response(405)
        if not endpoint.startswith("api_"):
            response = self._run(lambda: getattr(self, endpoint)(request, **args))
            return response
        with self._lock:
            hang = self._hangs.popleft() if self._hangs else 0.0
            failure = self._failures.popleft() if self._failures else None
        if hang:
            self._stopping.wait(hang)
        if failure is not None:
            return self.error_response(failure[0], **failure[1])
        refused = self.authenticate(request)
        if refused is not None:
            return refused
        return self._run(lambda: self._idempotently(request, endpoint, args))

    def _idempotently(self, request: Request, endpoint: str, args: dict) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key or request.method not in ("POST", "DELETE", "PATCH"):
            return getattr(self, endpoint)(request, **args)
        scope = request.headers.get("Authorization") or request.headers.get("X-API-Key") or ""
        slot = (hashlib.sha256(scope.encode()).hexdigest(), key)
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path}\n".encode() + request.get_data()
        ).hexdigest()
        stored = self._idempotent.get(slot)
        if stored is not None:
            if stored[0] != fingerprint:
                return self.idempotency_conflict(key)
            original = stored[1]
            replay = Response(original.get_data(), status=original.status_code)
            replay.headers = original.headers.copy()
            replay.headers[self.replay_header] = "true"
            return replay
        response = getattr(self, endpoint)(request, **args)
        if response.status_code < 500:
            self._idempotent[slot] = (fingerprint, response)
        return response


def json_response(
    payload: Any, status: int = 200, content_type: str = "application/json"
) -> Response:
    return Response(json.dumps(payload), status=status, content_type=content_type)


def html_page(title: str, body: str, status: int = 200) -> Response:
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def card_form(action: str, cancel_href: str, error: str | None = None) -> str:
    """The hosted page's form: one card number field, a pay button and a way back."""
    notice = f"<p class='error' role='alert'>{escape(error)}</p>" if error else ""
    return (
        f"{notice}<form method='post' action='{escape(action)}'>"
        "<label>Card number <input name='card_number' autocomplete='cc-number'></label>"
        "<button type='submit'>Pay</button></form>"
        f"<p><a class='cancel' href='{escape(cancel_href)}'>Cancel and return</a></p>"
    )


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class NotificationSink(LoopbackServer):
    """A merchant endpoint stand-in for the fakes' own tests: keeps what arrives, answers
    ``status`` with ``reply`` (Adyen wants ``[accepted]``), optionally runs ``on_receive``."""

    def __init__(self, status: int = 200, reply: bytes = b"") -> None:
        super().__init__()
        self.status = status
        self.reply = reply
        self.on_receive: Callable[[Received], None] | None = None
        self.received: list[Received] = []
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"{self.url}/notifications"

    def wsgi(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        item = Received(request.path, dict(request.headers.items()), request.get_data())
        with self._lock:
            self.received.append(item)
        if self.on_receive is not None:
            self.on_receive(item)
        return Response(self.reply, status=self.status)(environ, start_response)
