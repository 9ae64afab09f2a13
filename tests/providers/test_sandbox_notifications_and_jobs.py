"""After the customer acts, the sandbox provider notifies kadosei asynchronously through the
very path ``POST /providers/<provider>/notifications`` uses; the delayed card completes by a
scheduled job; a sweep redoes whatever the queue lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sandbox_support import act, create_checkout, pay, payment
from sqlalchemy import select

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.sweeps import registered_sweeps
from kadosei.jobs.worker import AppWorker
from kadosei.models import ProviderNotification
from kadosei.models.base import utcnow
from kadosei.providers.registry import get_provider
from kadosei.sandbox.jobs import (
    complete_processing_payment,
    send_notification,
    sweep_sandbox_payments,
)

DELAYED_CARD = "4000000000000259"


def _notifications(db, reference: str) -> list[ProviderNotification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ProviderNotification)
            .where(ProviderNotification.provider_reference == reference)
            .order_by(ProviderNotification.pk)
        )
    )


def _run_worker(app) -> None:
    AppWorker([get_queue(app)], connection=redis_connection(app)).work(burst=True)


@pytest.mark.parametrize("name", ["sandbox_lumen", "sandbox_harbor", "sandbox_orbit"])
def test_the_in_process_notification_reaches_kadoseis_notification_handler(client, db, name):
    result = create_checkout(db, get_provider(name))
    pay(client, result, "4242424242424242")

    assert send_notification(result.provider_reference) is True

    [received] = _notifications(db, result.provider_reference)
    assert received.provider == name and received.reported_status == "succeeded"
    assert payment(db, result).notified_at is not None


def test_a_notification_is_sent_once_even_when_the_job_runs_twice(client, db):
    result = create_checkout(db, get_provider("sandbox_orbit"))
    pay(client, result, "4000000000000002")
    assert send_notification(result.provider_reference) is True
    assert send_notification(result.provider_reference) is False
    assert [n.reported_status for n in _notifications(db, result.provider_reference)] == ["failed"]


def test_nothing_is_sent_for_a_checkout_the_customer_never_touched(db):
    result = create_checkout(db, get_provider("sandbox_lumen"))
    assert send_notification(result.provider_reference) is False
    assert _notifications(db, result.provider_reference) == []


def test_the_queued_notification_is_delivered_by_a_real_rq_worker(app, client, db):
    result = create_checkout(db, get_provider("sandbox_harbor"), method="ideal")
    act(client, result, "cancel")
    _run_worker(app)
    [received] = _notifications(db, result.provider_reference)
    assert received.reported_status == "canceled"


def test_the_delayed_card_is_processing_and_scheduled_to_complete_seconds_later(app, client, db):
    result = create_checkout(db, get_provider("sandbox_lumen"))
    pay(client, result, DELAYED_CARD)
    row = payment(db, result)
    assert row.status == "processing"
    assert utcnow() + timedelta(seconds=3) < row.completes_at < utcnow() + timedelta(seconds=6)
    scheduled = get_queue(app).scheduled_job_registry
    jobs = [get_queue(app).fetch_job(job_id) for job_id in scheduled.get_job_ids()]
    assert [(j.func_name, j.args) for j in jobs] == [
        ("kadosei.sandbox.jobs.complete_processing_payment", (row.id,))
    ]


def test_the_delayed_card_completes_through_its_job(client, db):
    result = create_checkout(db, get_provider("sandbox_orbit"))
    pay(client, result, DELAYED_CARD)
    assert complete_processing_payment(result.provider_reference) is True
    assert complete_processing_payment(result.provider_reference) is False
    row = payment(db, result)
    assert row.status == "succeeded" and row.notification_due_at and row.notified_at is None
    status = get_provider("sandbox_orbit").get_status(result.provider_reference)
    assert status.status == "succeeded"


def test_the_delayed_card_completes_through_a_real_rq_worker(app, client, db):
    app.config["SANDBOX_PROCESSING_SECONDS"] = 0
    result = create_checkout(db, get_provider("sandbox_lumen"))
    pay(client, result, DELAYED_CARD)

    _run_worker(app)

    assert payment(db, result).status == "succeeded"
    reported = [n.reported_status for n in _notifications(db, result.provider_reference)]
    assert reported == ["processing", "succeeded"]
    assert payment(db, result).notified_at is not None


def test_the_sweep_is_registered_for_every_worker(app):
    assert sweep_sandbox_payments in registered_sweeps(app)


def test_the_sweep_completes_an_overdue_delayed_card_the_queue_lost(client, db):
    result = create_checkout(db, get_provider("sandbox_harbor"))
    pay(client, result, DELAYED_CARD)
    sweep_sandbox_payments()
    assert payment(db, result).status == "processing"  # not due yet

    payment(db, result).completes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    sweep_sandbox_payments()

    assert payment(db, result).status == "succeeded"


def test_the_sweep_sends_a_notification_whose_enqueue_failed(app, client, db):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens: every enqueue fails
    result = create_checkout(db, get_provider("sandbox_lumen"))
    response = pay(client, result, "4242424242424242")
    assert response.status_code == 303  # the customer is not held up by the queue

    sweep_sandbox_payments()
    assert _notifications(db, result.provider_reference) == []  # the job gets its chance first

    payment(db, result).notification_due_at = utcnow() - timedelta(seconds=11)
    db.session.commit()
    sweep_sandbox_payments()

    [received] = _notifications(db, result.provider_reference)
    assert received.reported_status == "succeeded"
    assert payment(db, result).notified_at is not None
