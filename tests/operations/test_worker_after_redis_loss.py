"""A jobs worker (``flask worker``) whose Redis is killed and comes back empty: without a
restart it takes queued jobs again within seconds, and its scheduler (delayed jobs, retries)
runs again, instead of RQ's minute of back-off and ten minutes until its maintenance."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job
from rq.scheduler import RQScheduler

REPO = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))
# Long enough for RQ's own back-off (tries after 1, 3, 7, 15, 31 s …) to leave the queue idle
# for ~15 s more once Redis is back; kadosei's worker tries every 2 s.
REDIS_DOWN_SECONDS = 16
BACK_WITHIN = 8
JOB = "os.getpid"  # any importable function: the worker runs it, RQ stores its result


class RedisServer:
    """A redis-server of the test's own, started empty and killed hard (SIGKILL)."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait(lambda: _answers_ping(self.url), 15, "redis-server")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def worker(app, own_redis, tmp_path):
    env = {
        **os.environ,
        "KADOSEI_ENV": "testing",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": own_redis.url,
        "KADOSEI_QUEUE_NAME": app.config["KADOSEI_QUEUE_NAME"],
    }
    with (tmp_path / "worker.log").open("w") as log:
        process = subprocess.Popen(
            [FLASK, "--app", "app", "worker", "--sweep-interval", "0.5"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_after_redis_comes_back_empty_the_worker_runs_jobs_again_within_seconds(
    app, own_redis, worker, tmp_path
):
    client = redis.Redis.from_url(own_redis.url)
    queue = Queue(app.config["KADOSEI_QUEUE_NAME"], connection=client)
    scheduler_lock = RQScheduler.get_locking_key(queue.name)
    _wait(lambda: client.exists(scheduler_lock), 30, "the worker's scheduler")
    assert _finished(queue.enqueue(JOB), within=15)

    own_redis.kill()
    time.sleep(REDIS_DOWN_SECONDS)
    own_redis.start()  # empty: the queue, the scheduler's lock and registries are gone
    back_at = time.monotonic()
    now = queue.enqueue(JOB)
    later = queue.enqueue_in(timedelta(seconds=1), JOB)  # needs a scheduler again

    log = tmp_path / "worker.log"
    assert _finished(now, BACK_WITHIN), f"no job taken once Redis was back:\n{_tail(log)}"
    assert _finished(later, BACK_WITHIN), f"no scheduler moved the delayed job:\n{_tail(log)}"
    assert worker.poll() is None  # the same worker: never restarted
    assert time.monotonic() - back_at < 2 * BACK_WITHIN


def _finished(job: Job, within: float) -> bool:
    """Whether the worker ran ``job`` within ``within`` seconds from now."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if job.get_status(refresh=True) == "finished":
            return True
        time.sleep(0.1)
    return False


def _tail(log: Path) -> str:
    return "\n".join(log.read_text().splitlines()[-30:])


def _answers_ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {timeout:.0f} s")
