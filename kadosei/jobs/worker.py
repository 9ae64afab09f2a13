"""``flask --app app worker``: an RQ worker with the app context, the scheduler and sweeps."""

from __future__ import annotations

import logging
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from rq import SimpleWorker

from kadosei.extensions import db
from kadosei.jobs.embedded import EmbeddedRedisServer
from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.sweeps import run_sweeps

log = logging.getLogger("kadosei.jobs")


class AppWorker(SimpleWorker):
    """Runs jobs in-process inside the app context and returns DB connections after each."""

    def perform_job(self, job, queue) -> bool:
        try:
            return super().perform_job(job, queue)
        finally:
            db.session.remove()


def _sweep_forever(app: Flask, interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        with app.app_context():
            run_sweeps()
        stop.wait(interval)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Process what is queued, then exit.")
@click.option("--sweep-interval", default=10.0, show_default=True, help="Seconds between sweeps.")
@with_appcontext
def worker_command(burst: bool, sweep_interval: float) -> None:
    """Run a jobs worker (webhook deliveries, delayed provider events, expiry sweeps)."""
    app = current_app._get_current_object()
    embedded = None
    if not app.config["REDIS_URL"]:
        port = app.config["KADOSEI_EMBEDDED_QUEUE_PORT"]
        embedded = EmbeddedRedisServer(port=port).start()
        click.echo(f"REDIS_URL is unset: embedded queue server on {embedded.url}")
    stop = threading.Event()
    with app.app_context():
        run_sweeps()  # everything due is queued again at (re)start: nothing is lost
    if not burst:
        threading.Thread(
            target=_sweep_forever, args=(app, sweep_interval, stop), daemon=True
        ).start()
    try:
        worker = AppWorker([get_queue(app)], connection=redis_connection(app))
        worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        stop.set()
        if embedded is not None:
            embedded.stop()
