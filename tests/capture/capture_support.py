"""Helpers for the capture tests: the payment road's merchant API client and customer (from
``tests/payments``), plus a held payment: a manual-capture session the customer authorised."""

from __future__ import annotations

from kadosei.models import Attempt, PaymentSession
from kadosei.sandbox.models import SandboxPayment
from kadosei.services.routing_rules import add_rule
from tests.payments.payments_support import (
    Customer,
    MerchantApi,
    csrf_token,
    post_notification,
    query_of,
    run_jobs,
    session_body,
    signed_notification,
)

__all__ = [
    "Customer",
    "MerchantApi",
    "csrf_token",
    "held_payment",
    "pin",
    "post_notification",
    "query_of",
    "run_jobs",
    "sandbox_payment",
    "session_body",
    "signed_notification",
]

SANDBOXES = ("sandbox_lumen", "sandbox_harbor", "sandbox_orbit")


def pin(application, provider: str) -> None:
    """Route the merchant's checkouts to ``provider`` only (a stored routing rule)."""
    add_rule("pin_providers", {"providers": [provider]}, merchant_id=application.merchant_id)


def held_payment(app, merchant: MerchantApi, customer: Customer, **overrides) -> dict:
    """A manual-capture session the customer paid by card: ``requires_capture``, its
    notification delivered and the customer back on the shop's success page."""
    session = merchant.create_session(capture_method="manual", **overrides)
    back = customer.pay_by_card(customer.go_to_hosted_page(session), "4242424242424242")
    run_jobs(app)
    landed = customer.follow(back)
    assert landed.startswith(session["success_url"].split("?")[0]), landed
    return merchant.session(session["id"])


def attempt_of(session_id: str) -> Attempt:
    return Attempt.query.filter_by(session_id=session_id).one()


def sandbox_payment(session_id: str) -> SandboxPayment:
    from kadosei.extensions import db

    db.session.expire_all()
    return SandboxPayment.query.filter_by(session_id=session_id).one()


def stored_session(session_id: str) -> PaymentSession:
    from kadosei.extensions import db

    db.session.expire_all()
    return PaymentSession.query.filter_by(id=session_id).one()
