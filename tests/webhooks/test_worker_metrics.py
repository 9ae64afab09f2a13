"""A worker's own figures — deliveries in flight, its pool's threads, tries by outcome, how long
due deliveries waited for a claim — from a real ``flask worker`` process: served on its own port
(a worker host without a web instance), or in the web's ``/metrics`` through a shared folder."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request

import webhook_support
from webhook_support import FLASK, REPO, Receiver, emit, make_endpoint, stop_worker, worker_env

from tests.operations.test_probes_and_metrics import _sample

webhook_app = webhook_support.webhook_app

TOKEN = "worker-metrics-token-for-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_worker(app, log, **env: str) -> subprocess.Popen:
    """A real worker with four delivery threads, its output in the file ``log``."""
    base = {
        name: value for name, value in worker_env(app).items() if not name.startswith("PROMETHEUS_")
    }
    with open(log, "w") as output:
        return subprocess.Popen(
            [FLASK, "--app", "app", "worker"],
            cwd=REPO,
            env={**base, "KADOSEI_WEBHOOK_CONCURRENCY": "4", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _scrape(port: int, token: str | None = TOKEN) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def _wait_for(read, expected, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def _scrape_when_up(port: int, process, log, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, log.read_text()
        try:
            return _scrape(port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_worker_serves_its_deliveries_in_flight_on_its_own_port(webhook_app, factories, tmp_path):
    port = _free_port()
    log = tmp_path / "worker.log"
    receiver = Receiver(delay=1.5)
    try:
        application, _ = make_endpoint(factories, receiver.url)
        worker = _start_worker(
            webhook_app,
            log,
            KADOSEI_WORKER_METRICS_PORT=str(port),
            KADOSEI_METRICS_TOKEN=TOKEN,
        )
        try:
            idle = _scrape_when_up(port, worker, log)
            assert _wait_for(lambda: _sample(_scrape(port), "kadosei_webhook_delivery_threads"), 4)
            for _ in range(3):
                emit(application.id)
            assert receiver.wait_for_start(3, timeout=20)
            busy = _scrape(port)  # three tries wait on the receiver right now
            receiver.wait_for(3, timeout=20)
            done = _wait_for(
                lambda: _sample(
                    _scrape(port), "kadosei_webhook_try_duration_seconds_count", outcome="succeeded"
                ),
                3.0,
            )
            after = _scrape(port)
            with_no_token = _status(port, token=None)
            with_a_wrong_one = _status(port, token="not-it")
        finally:
            stop_worker(worker)
    finally:
        receiver.close()

    assert _sample(idle, "kadosei_webhook_deliveries_in_flight") == 0
    assert _sample(busy, "kadosei_webhook_deliveries_in_flight") == 3
    assert done == 3
    assert _sample(after, "kadosei_webhook_deliveries_in_flight") == 0
    assert _sample(after, "kadosei_webhook_claim_lag_seconds_count") == 3
    assert _sample(after, "kadosei_webhook_claim_lag_seconds_bucket", le="5.0") == 3
    assert "kadosei_payment_sessions" not in after  # the database's figures are the web's
    assert with_no_token == with_a_wrong_one == 401


def _status(port: int, token: str | None) -> int:
    try:
        _scrape(port, token)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def test_a_worker_sharing_the_web_folder_shows_up_in_the_web_metrics(
    webhook_app, factories, client, tmp_path
):
    folder = tmp_path / "metrics"
    folder.mkdir()
    webhook_app.config["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    receiver = Receiver(delay=1.5)

    def web(name: str, **labels: str) -> float | None:
        return _sample(client.get("/metrics").get_data(as_text=True), name, **labels)

    try:
        application, _ = make_endpoint(factories, receiver.url)
        worker = _start_worker(
            webhook_app, tmp_path / "worker.log", PROMETHEUS_MULTIPROC_DIR=str(folder)
        )
        try:
            threads = _wait_for(lambda: web("kadosei_webhook_delivery_threads"), 4, timeout=30)
            for _ in range(2):
                emit(application.id)
            assert receiver.wait_for_start(2, timeout=20)
            busy = web("kadosei_webhook_deliveries_in_flight")
            receiver.wait_for(2, timeout=20)
            idle = _wait_for(lambda: web("kadosei_webhook_deliveries_in_flight"), 0)
        finally:
            stop_worker(worker)
        assert worker.returncode == 0
        tries_after_exit = web("kadosei_webhook_try_duration_seconds_count", outcome="succeeded")
        threads_after_exit = web("kadosei_webhook_delivery_threads")
    finally:
        receiver.close()

    assert threads == 4
    assert busy == 2
    assert idle == 0
    assert tries_after_exit == 2  # counts stay: a total never goes down
    assert threads_after_exit is None  # a stopped worker's live figures leave with it


def test_a_worker_whose_metrics_port_is_taken_refuses_to_start(webhook_app, tmp_path):
    log = tmp_path / "worker.log"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = _start_worker(webhook_app, log, KADOSEI_WORKER_METRICS_PORT=str(port))
        try:
            returncode = worker.wait(timeout=30)
        finally:
            stop_worker(worker)

    assert returncode != 0
    assert f"cannot serve metrics on 127.0.0.1:{port}" in log.read_text()
