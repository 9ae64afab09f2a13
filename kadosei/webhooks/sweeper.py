"""The sweeper: every due, unclaimed delivery whose job is not on its way gets queued again.

It runs at every worker start and every ~10 s (``kadosei.jobs.sweeps``). "On its way" is asked
of Redis itself (the try's job is queued, scheduled or deferred), so nothing is lost when an
enqueue failed after commit, Redis restarted empty, or a worker died holding a delivery (its
lease runs out, then it is due and unclaimed again). Several workers may sweep at once: a
delivery queued twice is still sent once, as the job claims it first.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rq.job import Job, JobStatus
from sqlalchemy import or_, select, update

from kadosei.extensions import db
from kadosei.jobs.queue import redis_connection
from kadosei.models import WebhookDelivery
from kadosei.models.base import utcnow
from kadosei.webhooks.outbox import delivery_job_id, enqueue_delivery

log = logging.getLogger("kadosei.webhooks")

BATCH = 500
MAX_BATCHES = 20
# A scheduled job overdue by this much has no scheduler moving it (e.g. the worker holding the
# scheduler lock was killed): queue it directly rather than wait for the lock to expire.
SCHEDULER_GRACE = timedelta(seconds=30)


def requeue_due_deliveries(now: datetime | None = None) -> int:
    """Queue every due delivery that has no live job; returns how many were queued."""
    now = now or utcnow()
    queued, after_pk = 0, 0
    for _ in range(MAX_BATCHES):
        due = _due_unclaimed(now, after_pk)
        if not due:
            break
        after_pk = due[-1].pk
        lost = _without_live_job(due, now)
        sent = _enqueue_all(lost)
        if sent:
            _mark_enqueued(sent, now)
        queued += len(sent)
        if len(sent) < len(lost) or len(due) < BATCH:
            break  # Redis went away, or nothing more is due
    if queued:
        log.info("sweeper queued %d webhook deliveries again", queued)
    return queued


def _due_unclaimed(now: datetime, after_pk: int) -> list:
    rows = db.session.execute(
        select(
            WebhookDelivery.pk,
            WebhookDelivery.id,
            WebhookDelivery.attempt_count,
            WebhookDelivery.next_attempt_at,
        )
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
            WebhookDelivery.pk > after_pk,
        )
        .order_by(WebhookDelivery.pk)
        .limit(BATCH)
    )
    return list(rows)


def _without_live_job(due: list, now: datetime) -> list[tuple[str, int]]:
    """The (delivery id, tries made) of rows whose current try has no job on its way."""
    job_ids = [delivery_job_id(row.id, row.attempt_count) for row in due]
    jobs = Job.fetch_many(job_ids, connection=redis_connection())
    return [
        (row.id, row.attempt_count)
        for row, job in zip(due, jobs, strict=True)
        if not _on_its_way(job, row.next_attempt_at, now)
    ]


def _on_its_way(job: Job | None, due_at: datetime, now: datetime) -> bool:
    if job is None:
        return False
    status = job.get_status(refresh=False)
    if status in (JobStatus.QUEUED, JobStatus.DEFERRED):
        return True
    return status == JobStatus.SCHEDULED and now - due_at < SCHEDULER_GRACE


def _enqueue_all(lost: list[tuple[str, int]]) -> list[str]:
    sent: list[str] = []
    for delivery_id, tries in lost:
        if not enqueue_delivery(delivery_id, tries):
            break
        sent.append(delivery_id)
    return sent


def _mark_enqueued(delivery_ids: list[str], now: datetime) -> None:
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(delivery_ids))
        .values(enqueued_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
