"""A processing payment whose provider never notifies is settled by asking the provider."""

from __future__ import annotations

from datetime import timedelta

import pytest
from payments_support import run_jobs
from sqlalchemy import update

from kadosei.extensions import db
from kadosei.jobs.sweeps import run_sweeps
from kadosei.models import PaymentSession
from kadosei.models.base import utcnow
from kadosei.sandbox.models import SandboxPayment
from kadosei.services.reconciliation import QUIET_FOR, reconcile_quiet_sessions


@pytest.fixture
def app_config(redis_url, redis_client) -> dict:
    # The sandbox's bank takes an hour: only reconciliation can settle the session sooner.
    return {"REDIS_URL": redis_url, "SANDBOX_PROCESSING_SECONDS": 3600}


def _processing_session(merchant, customer, app) -> dict:
    session = merchant.create_session()
    customer.follow(customer.pay_by_card(customer.go_to_hosted_page(session), "4000000000000259"))
    run_jobs(app)
    assert merchant.session(session["id"])["status"] == "processing"
    return session


def _provider_settles_silently(session_id: str, status: str) -> None:
    """The PSP finishes the payment but its notification is lost."""
    db.session.execute(
        update(SandboxPayment).where(SandboxPayment.session_id == session_id).values(status=status)
    )
    db.session.commit()


def _quiet_since(session_id: str, delta: timedelta) -> None:
    db.session.execute(
        update(PaymentSession)
        .where(PaymentSession.id == session_id)
        .values(updated_at=utcnow() - delta)
    )
    db.session.commit()


def test_a_quiet_processing_session_is_settled_from_the_providers_status(app, merchant, customer):
    session = _processing_session(merchant, customer, app)
    _provider_settles_silently(session["id"], "succeeded")
    _quiet_since(session["id"], QUIET_FOR + timedelta(minutes=1))

    assert reconcile_quiet_sessions() == 1

    assert merchant.session(session["id"])["status"] == "succeeded"
    assert merchant.event_types(session["id"])[-1] == "payment_session.succeeded"


def test_a_recently_active_processing_session_is_left_to_the_providers_notification(
    app, merchant, customer
):
    session = _processing_session(merchant, customer, app)
    _provider_settles_silently(session["id"], "succeeded")

    run_sweeps()

    assert merchant.session(session["id"])["status"] == "processing"


def test_a_session_the_provider_still_processes_is_touched_so_others_get_their_turn(
    app, merchant, customer
):
    session = _processing_session(merchant, customer, app)
    _quiet_since(session["id"], QUIET_FOR + timedelta(minutes=1))

    assert reconcile_quiet_sessions() == 1
    assert merchant.session(session["id"])["status"] == "processing"
    assert reconcile_quiet_sessions() == 0  # checked just now: not again until quiet again
