"""Prometheus (Debian's ``prometheus`` package) scraping the cluster the way
``deploy/prometheus.yml`` says — each web instance through its own route on the TLS proxy, each
worker on its own metrics port, all with the bearer token — and every query of the committed
dashboard evaluated by it: none is refused, and the panels traffic feeds have data. Skipped
when Prometheus is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from deploy.cluster import ROOT, free_port
from tests.cluster.conftest import (
    Api,
    Receiver,
    add_endpoint,
    merchant_key,
    session_body,
    start_cluster,
    stop_cluster,
)
from tests.operations.test_dashboard import dashboard_queries

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
TOKEN = "cluster-metrics-token-0123456789"
RATE_INTERVAL = "15s"  # what Grafana's $__rate_interval becomes at a 1 s scrape interval
# Panels the traffic below feeds (refunds, breaker opens, 5xx and errors have none to show).
FED = {
    "Requests per second by endpoint",
    "p50 latency by endpoint",
    "p99 latency by endpoint",
    "Payment sessions by status and mode",
    "Routing decisions per second by provider",
    "Provider API p99 latency by provider and operation",
    "Provider API calls per second by provider and operation",
    "Webhook tries per second by outcome",
    "Webhook deliveries by status",
    "Delivery backlog and queue depth",
    "Worker deliveries in flight and pool saturation",
    "Claim lag and receiver time (p50, p99)",
    "Worker delivery threads",
}


@pytest.fixture(scope="module")
def cluster():
    if not Path(PROMETHEUS).is_file():
        pytest.skip("Prometheus is not installed (Debian package prometheus)")
    cluster = start_cluster("prometheus", extra_env={"KADOSEI_METRICS_TOKEN": TOKEN})
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(scope="module")
def prometheus(cluster):
    """Prometheus on a free port with a throwaway database, configured by the committed
    ``deploy/prometheus.yml`` with this cluster's addresses put in; its HTTP API's base URL."""
    base = Path(tempfile.mkdtemp(prefix="kadosei-prometheus-"))
    (base / "token").write_text(TOKEN)
    config = base / "prometheus.yml"
    config.write_text(_configured(cluster, base / "token"))
    promtool = Path(PROMETHEUS).with_name("promtool")
    if promtool.is_file():
        checked = subprocess.run(
            [str(promtool), "check", "config", str(config)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    port = free_port()
    with (base / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _ready(url), 30, "Prometheus ready", process, base)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)


def _configured(cluster, token_file: Path) -> str:
    text = (ROOT / "deploy" / "prometheus.yml").read_text()
    workers = [f"127.0.0.1:{port}" for port in cluster.worker_metrics_ports]
    for committed, ours in {
        "scrape_interval: 15s": "scrape_interval: 1s",
        "evaluation_interval: 15s": "evaluation_interval: 1s",
        "/etc/prometheus/kadosei-metrics-token": str(token_file),
        "/etc/prometheus/kadosei-proxy-ca.pem": str(cluster.certificate),
        '["web-1", "web-2"]': json.dumps([f"web-{n}" for n in range(cluster.instances)]),
        "pay.example.com:443": f"127.0.0.1:{cluster.https_port}",
        '["worker-1.internal:9102", "worker-2.internal:9102"]': json.dumps(workers),
    }.items():
        assert committed in text, f"deploy/prometheus.yml no longer says {committed!r}"
        text = text.replace(committed, ours)
    return text


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _until(check, timeout: float, what: str, process=None, base: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"Prometheus exited: {(base / 'prometheus.log').read_text()}")
        if result := check():
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def query(url: str, expr: str) -> dict:
    """Prometheus's answer (status, data or error) to one instant query, evaluated now."""
    expr = expr.replace("$__rate_interval", RATE_INTERVAL)
    return requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()


def _series(url: str, expr: str) -> list[dict]:
    answer = query(url, expr)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def _peak_in_flight(url: str) -> float:
    busiest = _series(url, "max_over_time(kadosei_webhook_deliveries_in_flight[5m])")
    return max((float(series["value"][1]) for series in busiest), default=0.0)


def test_prometheus_evaluates_every_dashboard_query_on_the_cluster(cluster, prometheus):
    app_id, secret, owner = merchant_key(cluster, "prometheus@shop.example")
    api = Api(cluster, secret)
    receiver = Receiver(delay=5)  # slow: each try is in flight over several scrapes
    try:
        add_endpoint(owner, app_id, receiver.url)
        for n in range(4):
            session = api.request(
                "POST", "/api/v1/payment_sessions", instance=n % 2, json=session_body()
            ).json()
            if n % 2:
                canceled = api.request("POST", f"/api/v1/payment_sessions/{session['id']}/cancel")
                assert canceled.status_code == 200, canceled.text
            else:
                assert api.request("GET", f"/checkout/{session['id']}").status_code == 303
        # While the slow receiver holds the tries, Prometheus sees them in flight.
        _until(lambda: _peak_in_flight(prometheus) >= 1, 40, "a try in flight scraped")
        receiver.wait_for(2, timeout=60)
        tried = 'rate(kadosei_webhook_try_duration_seconds_count{outcome="succeeded"}[15s])'
        _until(lambda: _series(prometheus, tried), 30, "the workers' tries scraped (twice)")
    finally:
        receiver.close()

    up = {
        (series["metric"]["job"], series["metric"]["instance"]): series["value"][1]
        for series in _series(prometheus, "up")
    }
    answers = [(title, expr, query(prometheus, expr)) for title, expr in dashboard_queries()]
    refused = [
        (title, expr, answer) for title, expr, answer in answers if answer["status"] != "success"
    ]
    with_data = {title for title, _, answer in answers if answer.get("data", {}).get("result")}

    assert up == {
        **{("kadosei-web", f"web-{n}"): "1" for n in range(cluster.instances)},
        **{("kadosei-worker", f"127.0.0.1:{port}"): "1" for port in cluster.worker_metrics_ports},
    }
    assert refused == []
    assert FED - with_data == set()
    assert _peak_in_flight(prometheus) >= 1  # the figure moved
