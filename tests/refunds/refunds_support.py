"""Helpers for the refund tests: a paid session through a sandbox PSP, refund calls."""

from __future__ import annotations

from kadosei.extensions import db
from kadosei.models import Attempt
from kadosei.sandbox.knobs import update_knobs
from kadosei.services.session_state import lock_session, transition
from tests.payments.payments_support import Customer, MerchantApi, run_jobs

SANDBOXES = ("sandbox_lumen", "sandbox_harbor", "sandbox_orbit")


def only_sandbox(name: str) -> None:
    """Switch the other sandbox PSPs off (their operator's knob), so routing picks ``name``."""
    for other in SANDBOXES:
        update_knobs(other, {"enabled": other == name})


def paid_session(merchant: MerchantApi, customer: Customer, **overrides) -> dict:
    """A session the customer paid by card (succeeded, confirmed on return)."""
    session = merchant.create_session(**overrides)
    hosted = customer.go_to_hosted_page(session)
    customer.follow(customer.pay_by_card(hosted, "4242424242424242"))
    paid = merchant.session(session["id"])
    assert paid["status"] == "succeeded", paid
    return paid


def attempt_of(session: dict) -> Attempt:
    return Attempt.query.filter_by(session_id=session["id"]).order_by(Attempt.pk).first()


def refund(merchant: MerchantApi, body: dict, *, key: str | None = None):
    headers = dict(merchant.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return merchant.client.post("/api/v1/refunds", json=body, headers=headers)


def refund_event_types(merchant: MerchantApi, session_id: str) -> list[str]:
    return [t for t in merchant.event_types(session_id) if t.startswith("refund.")]


def pay_after_the_session_ended(app, hosted: str, session: dict, customer: Customer) -> None:
    """The customer pays at the PSP; before its notification arrives kadosei has ended the
    session (expired): the provider's success comes after the end, a conflict."""
    customer.pay_by_card(hosted, "4242424242424242")  # the PSP took the money
    row = lock_session(session["id"])
    transition(row, "expired", cause="test: the session ran out of time")
    db.session.commit()
    run_jobs(app)  # the PSP's signed notification: success for an ended session
