"""Prometheus metrics counted in-process (docs/operations.md), declared once.

Below every layer (it imports only ``prometheus_client``), so the web layer, the provider
adapters and routing may count. Under gunicorn each process writes its samples to
``PROMETHEUS_MULTIPROC_DIR`` (set in ``gunicorn.conf.py``) and ``/metrics`` merges them, so the
figures are the same whichever process answers the scrape. What the database already knows
(sessions by status, deliveries, refunds, the queue) is not counted here but read at scrape
time by ``kadosei.services.operations``: correct across processes and hosts alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess

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


def scrape_registry(multiprocess_dir: str | None) -> CollectorRegistry:
    """A registry for one scrape: every process's samples when running under gunicorn (a
    multiprocess directory), this process's own otherwise."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY
