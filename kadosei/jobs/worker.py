"""``flask --app app worker``: an RQ worker with the app context, the scheduler and sweeps, and
the webhook delivery pool (``kadosei.webhooks.pool``) beside it; its metrics go to the web's
``/metrics`` through a shared ``PROMETHEUS_MULTIPROC_DIR``, or out of its own port."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from wsgiref.simple_server import WSGIServer

import click
import redis
from flask import Flask, current_app
from flask.cli import with_appcontext
from rq import SimpleWorker

from kadosei.extensions import db
from kadosei.jobs.embedded import EmbeddedRedisServer
from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.sweeps import run_sweeps
from kadosei.metrics import process_exited, serve_metrics
from kadosei.webhooks.pool import DeliveryPool, deliver_due_deliveries

log = logging.getLogger("kadosei.jobs")

SCHEDULER_STOP_SECONDS = 10.0  # RQ's scheduler stops within its 1 s tick and two Redis calls


class AppWorker(SimpleWorker):
    """Runs jobs in-process inside the app context and returns DB connections after each, with
    the webhook delivery pool beside the job loop (``deliveries``). In burst mode it sends every
    delivery due once the jobs are done (they may have made some), one after another."""

    # While Redis is away RQ tries again after 1, 2, 4 … up to 60 s: the queue would stay idle
    # for up to a minute after Redis is back. A refused connection costs nothing: try often.
    max_connection_wait_time = 2.0

    def __init__(self, *args, deliveries: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.deliveries = deliveries
        self._pool: DeliveryPool | None = None
        self._scheduler_guard = threading.Lock()
        self._ending = False
        self._signalled = False  # SIGTERM came: a warm shutdown is under way

    def _start_scheduler(self, *args, **kwargs) -> None:
        # RQ's first start (in ``work``) under the guard too: the sweep thread's first revive
        # could otherwise come between RQ creating the scheduler and starting its process, and
        # fork a second scheduler. RQ tracks only the last one, so teardown stopped only that,
        # and at exit multiprocessing joined the untracked one for ever (SIGTERM hung).
        with self._scheduler_guard:
            super()._start_scheduler(*args, **kwargs)

    def revive_scheduler(self) -> bool:
        """Start the scheduler (delayed jobs, retries) again if it died: it exits when Redis
        goes away, and RQ would restart it only at its ten-minute maintenance. Only the worker
        holding the scheduler lock runs one; ``True`` if this one does."""
        with self._scheduler_guard:
            if self._ending or self._signalled or self.scheduler is None:
                return False
            process = self.scheduler._process
            if process is not None and process.is_alive():
                return True
            try:
                return bool(self.scheduler.acquire_locks(auto_start=True))
            except redis.RedisError:
                return False  # still away: the next sweep round tries again

    def request_stop(self, signum, frame) -> None:
        # No revive once SIGTERM came (RQ stops the scheduler right here); a plain flag, as a
        # signal handler must not wait for the guard: a revive may hold it through a Redis call.
        self._signalled = True
        super().request_stop(signum, frame)

    def teardown(self) -> None:
        with self._scheduler_guard:
            self._ending = True  # no scheduler revived after RQ has stopped it
        super().teardown()

    def stop_scheduler(self) -> None:
        """RQ's stop (SIGTERM, then wait), but the wait is bounded: a scheduler forked by a
        revive just as SIGTERM came may have inherited the worker's handler, which ignores a
        second signal within a second, and then run on. It holds nothing a kill would lose
        (its lock lapses; scheduled jobs stay in their registry for the next scheduler)."""
        process = self.scheduler._process if self.scheduler is not None else None
        if process is None or process.pid is None:
            return
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGTERM)
        process.join(SCHEDULER_STOP_SECONDS)
        if process.is_alive():
            log.warning(
                "scheduler %s did not stop within %ss: killed", process.pid, SCHEDULER_STOP_SECONDS
            )
            process.kill()
            process.join()

    def perform_job(self, job, queue) -> bool:
        try:
            return super().perform_job(job, queue)
        finally:
            db.session.remove()

    def work(self, burst: bool = False, **kwargs) -> bool:
        if self.deliveries and not burst:
            self._pool = DeliveryPool(current_app._get_current_object())
        try:
            worked = super().work(burst=burst, **kwargs)
        finally:
            if self._pool is not None:
                self._pool.stop()  # after the warm shutdown: the tries in flight finish
        if burst and self.deliveries:
            try:
                worked = deliver_due_deliveries() > 0 or worked
            finally:
                db.session.remove()
        return worked

    def _install_signal_handlers(self) -> None:
        # The pool starts once SIGTERM means a warm shutdown (RQ's handler), never before:
        # a worker stopped while starting has no try in flight to cut short.
        super()._install_signal_handlers()
        if self._pool is not None:
            self._pool.start()


def _sweep_forever(app: Flask, worker: AppWorker, interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        with app.app_context():
            run_sweeps()
        worker.revive_scheduler()
        stop.wait(interval)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Process what is queued and due, then exit.")
@click.option("--sweep-interval", default=10.0, show_default=True, help="Seconds between sweeps.")
@click.option(
    "--deliveries/--no-deliveries",
    default=True,
    show_default=True,
    help="Run the webhook delivery pool (KADOSEI_WEBHOOK_CONCURRENCY threads) in this worker.",
)
@with_appcontext
def worker_command(burst: bool, sweep_interval: float, deliveries: bool) -> None:
    """Run a jobs worker (webhook deliveries, delayed provider events, expiry sweeps). SIGTERM
    stops it gracefully: the job and the webhook tries in progress finish first."""
    app = current_app._get_current_object()
    metrics_server = _serve_metrics(app)
    embedded = None
    if not app.config["REDIS_URL"]:
        port = app.config["KADOSEI_EMBEDDED_QUEUE_PORT"]
        embedded = EmbeddedRedisServer(port=port).start()
        click.echo(f"REDIS_URL is unset: embedded queue server on {embedded.url}")
    stop = threading.Event()
    with app.app_context():
        run_sweeps()
    worker = AppWorker([get_queue(app)], connection=redis_connection(app), deliveries=deliveries)
    if not burst:
        threading.Thread(
            target=_sweep_forever, args=(app, worker, sweep_interval, stop), daemon=True
        ).start()
    try:
        worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        stop.set()
        if embedded is not None:
            embedded.stop()
        if metrics_server is not None:
            metrics_server.shutdown()
        process_exited(app.config["PROMETHEUS_MULTIPROC_DIR"])


def _serve_metrics(app: Flask) -> WSGIServer | None:
    """The worker's own metrics port (``KADOSEI_WORKER_METRICS_PORT``), if one is set; a port
    that cannot be bound stops the worker at start, as any bad setting would."""
    port = app.config["KADOSEI_WORKER_METRICS_PORT"]
    if not port:
        return None
    address = app.config["KADOSEI_WORKER_METRICS_ADDRESS"]
    try:
        server = serve_metrics(
            address,
            port,
            app.config["PROMETHEUS_MULTIPROC_DIR"],
            app.config["KADOSEI_METRICS_TOKEN"],
        )
    except OSError as exc:
        raise click.ClickException(f"cannot serve metrics on {address}:{port}: {exc}") from exc
    click.echo(f"metrics on http://{address}:{port}/metrics")
    return server
