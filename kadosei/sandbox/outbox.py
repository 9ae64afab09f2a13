"""The sandbox PSP's notification outbox, one for payments and refunds alike: a change of
status sets ``notification_due_at`` and clears ``notified_at`` (in the same UPDATE), then
queues the job that sends the notification; the sender claims it by setting ``notified_at``
and releases it if sending failed, so the next job or the sweep sends it again.

Each function is a transaction of the sandbox's own (:mod:`kadosei.sandbox.store`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Update, select, update

from kadosei.jobs.queue import enqueue
from kadosei.sandbox.models import SandboxPayment, SandboxRefund, utcnow
from kadosei.sandbox.store import reading, transaction

Notifying = type[SandboxPayment] | type[SandboxRefund]


def commit_and_notify(change: Update, now: datetime, job: str, reference: str) -> bool:
    """Commit ``change``, a conditional UPDATE of one row's status, making the row's
    notification due at ``now``; if the condition held (whoever changes the row first wins),
    queue ``job`` to send the notification, after the commit. ``False`` if nothing changed."""
    with transaction() as session:
        result = session.execute(change.values(notification_due_at=now, notified_at=None))
    if result.rowcount != 1:
        return False
    enqueue(job, reference)
    return True


def claim(model: Notifying, reference: str) -> datetime | None:
    """Mark the row's due notification as being sent (when, returned); ``None`` if none is
    due (already sent by another worker): this keeps duplicates rare, and they are harmless
    anyway."""
    claimed_at = utcnow()
    with transaction() as session:
        result = session.execute(
            update(model)
            .where(
                model.id == reference,
                model.notified_at.is_(None),
                model.notification_due_at.is_not(None),
            )
            .values(notified_at=claimed_at)
        )
    return claimed_at if result.rowcount == 1 else None


def release(model: Notifying, reference: str, claimed_at: datetime) -> None:
    """Sending failed: make the notification due again for the next job or sweep."""
    with transaction() as session:
        session.execute(
            update(model)
            .where(model.id == reference, model.notified_at == claimed_at)
            .values(notified_at=None)
        )


def due(model: Notifying, due_before: datetime, due_after: datetime, limit: int = 100) -> list[str]:
    """References of rows whose notification fell due between ``due_after`` and
    ``due_before`` and was not sent, oldest row first."""
    with reading() as session:
        return list(
            session.scalars(
                select(model.id)
                .where(
                    model.notified_at.is_(None),
                    model.notification_due_at <= due_before,
                    model.notification_due_at > due_after,
                )
                .order_by(model.pk)
                .limit(limit)
            )
        )
