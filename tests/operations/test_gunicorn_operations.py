"""Under a real gunicorn with several worker processes: ``/metrics`` adds up every process's
samples, and SIGTERM lets a request in flight finish before the server stops."""

from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import threading
import time

import pytest

from kadosei.config import BASE_DIR
from kadosei.sandbox.knobs import update_knobs
from tests.conftest import TEST_SECRET
from tests.foundation.test_gunicorn_config import GUNICORN, _free_port, _parse, _raw
from tests.operations.test_probes_and_metrics import _sample

HTTPS = b"X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n"


def _start(database_url: str, tmp_path, workers: int) -> tuple[subprocess.Popen, int, object]:
    port = _free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("KADOSEI_", "GUNICORN_", "PROMETHEUS_"))
    }
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env.update(
        KADOSEI_ENV="testing",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=database_url,
        REDIS_URL="",
        KADOSEI_PUBLIC_URL="https://kadosei.test",
        KADOSEI_PROXY_COUNT="1",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    log = (tmp_path / "gunicorn.log").open("w")
    command = [str(GUNICORN), "wsgi:app", "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        [*command, "--workers", str(workers), "--no-control-socket"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited at start"
        try:
            if _raw(port, b"GET /readyz HTTP/1.1\r\nHost: kadosei.test\r\n\r\n"):
                return process, port, log
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer within 60 s")


def _stop(process: subprocess.Popen, log) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=60)
    log.close()


def test_metrics_add_up_every_worker_process(database_url, _schema, tmp_path):
    process, port, log = _start(database_url, tmp_path, workers=2)
    try:
        # A request half sent holds one worker (a sync worker serves one connection at a
        # time), so the next forty go to the other; then it is finished: 41 in all, 2 processes.
        held = socket.create_connection(("127.0.0.1", port), timeout=10)
        held.sendall(b"GET /healthz HTTP/1.1\r\nHost: kadosei.test\r\n")
        time.sleep(0.5)
        for _ in range(40):
            status, _, _ = _parse(
                _raw(port, b"GET /healthz HTTP/1.1\r\nHost: kadosei.test\r\n\r\n")
            )
            assert status == 200
        held.sendall(b"Connection: close\r\n\r\n")
        assert held.recv(65536).startswith(b"HTTP/1.1 200")
        held.close()
        counts = []
        for _ in range(4):
            request = b"GET /metrics HTTP/1.1\r\nHost: kadosei.test\r\n" + HTTPS + b"\r\n"
            status, _, body = _parse(_raw(port, request))
            assert status == 200
            counts.append(
                _sample(
                    body.decode(),
                    "kadosei_http_request_duration_seconds_count",
                    endpoint="ops.healthz",
                    status="200",
                )
            )
        pids = {path.name.split("_")[-1] for path in (tmp_path / "metrics").glob("*.db")}
    finally:
        _stop(process, log)

    assert counts == [41.0] * 4  # whichever process answered, the same total
    assert len(pids) >= 2, "both worker processes wrote samples"


def test_sigterm_lets_the_request_in_flight_finish(app, factories, database_url, tmp_path):
    application = factories.make_application()
    from kadosei.schemas.requests import PaymentSessionCreate
    from kadosei.services.payments import create_payment_session

    created = create_payment_session(
        application,
        "test",
        PaymentSessionCreate(
            amount=1000,
            currency="EUR",
            payment_method="card",
            success_url="https://shop.example/ok",
            cancel_url="https://shop.example/no",
        ),
    )
    session_id = created.body["id"]
    for provider in ("sandbox_lumen", "sandbox_harbor", "sandbox_orbit"):
        update_knobs(provider, {"slow_ms": 3000})  # the provider's API takes 3 s to answer

    process, port, log = _start(database_url, tmp_path, workers=1)
    answers: list[tuple[int, dict, bytes]] = []
    request = (
        f"GET /checkout/{session_id} HTTP/1.1\r\nHost: kadosei.test\r\n".encode() + HTTPS + b"\r\n"
    )
    customer = threading.Thread(target=lambda: answers.append(_parse(_raw(port, request))))
    try:
        customer.start()
        time.sleep(1.0)  # the checkout is waiting on the provider
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        customer.join(timeout=30)
        process.wait(timeout=60)
        stopped_after = time.monotonic() - started
    finally:
        _stop(process, log)

    assert answers, "the customer got no answer"
    status, headers, _ = answers[0]
    assert status == 303, answers[0]
    assert "/sandbox/" in headers["location"]
    assert process.returncode == 0
    assert stopped_after < 30
    print(f"\nSIGTERM → in-flight checkout answered and gunicorn stopped in {stopped_after:.1f} s")


def test_gunicorn_start_clears_only_the_metrics_of_processes_that_are_gone(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    live = tmp_path / f"gauge_livesum_{os.getpid()}.db"  # a worker sharing the folder
    gone = tmp_path / "counter_4194305.db"  # above the largest pid Linux gives
    for samples in (live, gone):
        samples.write_bytes(b"")
    settings = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))

    settings["on_starting"](None)

    assert live.exists()
    assert not gone.exists()


@pytest.fixture
def app_config() -> dict:
    return {"REDIS_URL": None}
