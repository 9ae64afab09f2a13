"""The outbox: delivery rows are written in the caller's transaction (``record_event`` notes
each with ``queue_after_commit``); the database is the delivery queue. Once that transaction
commits, the workers' delivery pools are told over Redis (publish) so they claim the rows at
once; a pool that misses the word (Redis away) finds the rows at its next poll, within a
second. Nothing here ever fails the caller."""

from __future__ import annotations

import logging

import redis
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from kadosei.extensions import db
from kadosei.jobs.queue import redis_connection

log = logging.getLogger("kadosei.webhooks")

# The session's ``info`` key listing the deliveries its transaction created.
NEW_DELIVERIES = "kadosei_new_deliveries"


def queue_after_commit(delivery_id: str) -> None:
    """Announce the (flushed) delivery to the delivery pools once the transaction commits."""
    db.session.info.setdefault(NEW_DELIVERIES, []).append(delivery_id)


def deliveries_channel(app: Flask | None = None) -> str:
    """The Redis channel new due deliveries are announced on (one per queue name)."""
    return f"{(app or current_app).config['KADOSEI_QUEUE_NAME']}:webhook-deliveries"


def announce_deliveries() -> bool:
    """Wake the delivery pools: deliveries are due now; ``False`` if Redis is away."""
    try:
        redis_connection().publish(deliveries_channel(), "due")
    except redis.RedisError as exc:
        log.warning("could not announce webhook deliveries: %s (the pools poll)", exc)
        return False
    return True


def _announce_committed(session: Session) -> None:
    """after_commit: announce the deliveries the transaction created; never raises."""
    if session.in_nested_transaction():
        return  # a savepoint: the rows are not visible to workers until the outer commit
    if not session.info.pop(NEW_DELIVERIES, None):
        return
    try:
        announce_deliveries()
    except Exception:
        log.exception("could not announce webhook deliveries (the pools poll)")


def _forget_rolled_back(session: Session) -> None:
    """after_rollback: the rows are gone, so are their ids. A savepoint's rollback keeps them:
    ids of rows it undid only wake a pool that finds nothing to claim."""
    if not session.in_nested_transaction():
        session.info.pop(NEW_DELIVERIES, None)


def install_outbox_listeners() -> None:
    """Listen on the app's session factory once per process (every app shares ``db``)."""
    if not event.contains(db.session, "after_commit", _announce_committed):
        event.listen(db.session, "after_commit", _announce_committed)
        event.listen(db.session, "after_rollback", _forget_rolled_back)
