"""Prometheus metrics counted in-process (docs/operations.md), declared once.

Below every layer (it imports only ``prometheus_client``), so the web layer, the provider
adapters, routing and the webhook workers may count. Under gunicorn each process writes its
samples to ``PROMETHEUS_MULTIPROC_DIR`` (set in ``gunicorn.conf.py``) and ``/metrics`` merges
them, so the figures are the same whichever process answers the scrape; a worker given the same
folder on the same host shows up there too, and a worker on a host of its own serves its
figures itself (``serve_metrics``, ``KADOSEI_WORKER_METRICS_PORT``). What the database already
knows (sessions by status, deliveries, refunds, the queue) is not counted here but read at
scrape time by ``kadosei.services.operations``: correct across processes and hosts alike.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import ThreadingWSGIServer, make_wsgi_app

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUEST_SECONDS = Histogram(
    "kadosei_http_request_duration_seconds",
    "Time to answer a request, by endpoint (the route's name), method and status",
    ["endpoint", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
ROUTING_DECISIONS = Counter(
    "kadosei_routing_decisions_total",
    "Providers chosen for a checkout attempt, by provider and mode",
    ["provider", "mode"],
)
ROUTING_BREAKER_OPEN = Counter(
    "kadosei_routing_breaker_open_total",
    "Routing decisions that found the provider's breaker open (the provider passed over)",
    ["provider"],
)
PROVIDER_CALL_SECONDS = Histogram(
    "kadosei_provider_call_duration_seconds",
    "Calls to a provider's API, by provider, operation and outcome (ok or error)",
    ["provider", "operation", "outcome"],
    buckets=_LATENCY_BUCKETS,
)

# -- the webhook workers' delivery pools (kadosei.webhooks). The gauges add up the live
# processes sharing a folder (a process that stopped takes its figures with it).
WEBHOOK_DELIVERIES_IN_FLIGHT = Gauge(
    "kadosei_webhook_deliveries_in_flight",
    "Webhook deliveries being tried right now (sent, or their try being recorded)",
    multiprocess_mode="livesum",
)
WEBHOOK_DELIVERY_THREADS = Gauge(
    "kadosei_webhook_delivery_threads",
    "Delivery threads of the running workers' pools: in flight / threads is their saturation",
    multiprocess_mode="livesum",
)
WEBHOOK_TRY_SECONDS = Histogram(
    "kadosei_webhook_try_duration_seconds",
    "Webhook tries: time to send one and record it, by outcome (succeeded, retry, failed, "
    "gone, superseded; error: it could not be recorded)",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOK_CLAIM_LAG_SECONDS = Histogram(
    "kadosei_webhook_claim_lag_seconds",
    "How long a webhook delivery had been due when a worker claimed it",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)

_in_provider_call: ContextVar[bool] = ContextVar("kadosei_in_provider_call", default=False)


@contextmanager
def provider_call(provider: str, operation: str) -> Iterator[None]:
    """Time one provider API call; a call made inside another (an adapter's method calling
    its base class's) is counted once, as the outer one."""
    if _in_provider_call.get():
        yield
        return
    token = _in_provider_call.set(True)
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        _in_provider_call.reset(token)
        PROVIDER_CALL_SECONDS.labels(provider, operation, outcome).observe(
            time.perf_counter() - started
        )


def webhook_try_started() -> float:
    """A webhook try begins in this process: in flight until ``webhook_try_ended``."""
    WEBHOOK_DELIVERIES_IN_FLIGHT.inc()
    return time.perf_counter()


def webhook_try_ended(started: float, outcome: str) -> None:
    """The try begun at ``started`` is recorded (``outcome``), or could not be (``error``)."""
    WEBHOOK_DELIVERIES_IN_FLIGHT.dec()
    WEBHOOK_TRY_SECONDS.labels(outcome).observe(time.perf_counter() - started)


def bearer_matches(authorization: str, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` as its bearer credential."""
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def scrape_registry(multiprocess_dir: str | None) -> CollectorRegistry:
    """A registry for one scrape: every process's samples when running under gunicorn (a
    multiprocess directory), this process's own otherwise."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def serve_metrics(
    address: str, port: int, multiprocess_dir: str | None, token: str | None
) -> WSGIServer:
    """Serve this process's metrics (every process's, given the folder they share) over plain
    HTTP on ``address:port`` from a thread of its own, for a worker on a host without kadosei's
    web; with ``token`` set, only to a scrape presenting it as a bearer token. Raises
    ``OSError`` when the address cannot be bound. Stop it with ``shutdown()``."""
    exposition = make_wsgi_app(scrape_registry(multiprocess_dir))

    def app(environ, start_response):
        if token and not bearer_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"metrics need the operator's bearer token\n"]
        return exposition(environ, start_response)

    server = make_server(address, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # a scrape is no news
        pass


def process_exited(multiprocess_dir: str | None) -> None:
    """Take this process's live figures (its gauges) out of the folder it shares; its counters
    stay, so the totals never go down."""
    if multiprocess_dir:
        multiprocess.mark_process_dead(os.getpid(), multiprocess_dir)
