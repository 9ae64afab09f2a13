"""Enqueueing jobs on RQ. Enqueue failures never fail the caller: the outbox rows written in
the caller's transaction are picked up again by the sweeper."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis
from flask import Flask, current_app
from rq import Queue, Retry

log = logging.getLogger("kadosei.jobs")

EMBEDDED_HOST = "127.0.0.1"


def redis_url(app: Flask | None = None) -> str:
    """``REDIS_URL``, or the embedded queue server's address when it is unset."""
    app = app or current_app
    configured = app.config["REDIS_URL"]
    if configured:
        return configured
    return f"redis://{EMBEDDED_HOST}:{app.config['KADOSEI_EMBEDDED_QUEUE_PORT']}/0"


def redis_connection(app: Flask | None = None) -> redis.Redis:
    """One client (connection pool) per app, with short timeouts so a dead Redis is cheap."""
    app = app or current_app
    client = app.extensions.get("kadosei_redis")
    if client is None:
        client = redis.Redis.from_url(
            redis_url(app), socket_connect_timeout=0.5, socket_timeout=2, health_check_interval=30
        )
        app.extensions["kadosei_redis"] = client
    return client


def get_queue(app: Flask | None = None) -> Queue:
    app = app or current_app
    return Queue(app.config["KADOSEI_QUEUE_NAME"], connection=redis_connection(app))


def enqueue(
    func: str,
    *args,
    job_id: str | None = None,
    at: datetime | None = None,
    retry: Retry | None = None,
) -> bool:
    """Put ``func(*args)`` on the queue (at ``at``, naive UTC); ``False`` if Redis is away."""
    queue = get_queue()
    try:
        if at is not None and at > datetime.now(UTC).replace(tzinfo=None):
            queue.enqueue_at(at.replace(tzinfo=UTC), func, *args, job_id=job_id, retry=retry)
        else:
            queue.enqueue(func, *args, job_id=job_id, retry=retry)
    except redis.RedisError as exc:
        log.warning("could not enqueue %s: %s (the sweeper will retry)", func, exc)
        return False
    return True
