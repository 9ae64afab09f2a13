"""The outbox: delivery rows are written in the caller's transaction (``record_event`` notes
each with ``queue_after_commit``); once that transaction commits, their jobs go on the queue. A
failed enqueue never reaches the caller: the rows stay ``pending`` and the sweeper queues them
again."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from kadosei.extensions import db
from kadosei.jobs.queue import enqueue

log = logging.getLogger("kadosei.webhooks")

DELIVER_JOB = "kadosei.webhooks.delivery.deliver_webhook"
# The session's ``info`` key listing the deliveries its transaction created.
NEW_DELIVERIES = "kadosei_new_deliveries"


def queue_after_commit(delivery_id: str) -> None:
    """Queue the (flushed) delivery's first try once the current transaction commits."""
    db.session.info.setdefault(NEW_DELIVERIES, []).append(delivery_id)


def delivery_job_id(delivery_id: str, tries_made: int) -> str:
    """One job id per delivery and try number: re-queuing the same try reuses it, so the
    sweeper can ask Redis whether that try is still on its way."""
    return f"{delivery_id}-{tries_made}"


def enqueue_delivery(delivery_id: str, tries_made: int, *, at: datetime | None = None) -> bool:
    """Queue the delivery's next try (at ``at``, naive UTC); ``False`` if Redis is away."""
    return enqueue(DELIVER_JOB, delivery_id, job_id=delivery_job_id(delivery_id, tries_made), at=at)


def _enqueue_committed(session: Session) -> None:
    """after_commit: queue the deliveries the transaction created; never raises."""
    if session.in_nested_transaction():
        return  # a savepoint: the rows are not visible to workers until the outer commit
    delivery_ids = session.info.pop(NEW_DELIVERIES, None)
    if not delivery_ids:
        return
    try:
        for delivery_id in delivery_ids:
            if not enqueue_delivery(delivery_id, 0):
                break  # Redis is away: the sweeper queues these rows later
    except Exception:
        log.exception("could not queue webhook deliveries (the sweeper will)")


def _forget_rolled_back(session: Session) -> None:
    """after_rollback: the rows are gone, so are their ids. A savepoint's rollback keeps them:
    ids of rows it undid only make jobs that find nothing to claim."""
    if not session.in_nested_transaction():
        session.info.pop(NEW_DELIVERIES, None)


def install_outbox_listeners() -> None:
    """Listen on the app's session factory once per process (every app shares ``db``)."""
    if not event.contains(db.session, "after_commit", _enqueue_committed):
        event.listen(db.session, "after_commit", _enqueue_committed)
        event.listen(db.session, "after_rollback", _forget_rolled_back)
