"""The sandbox PSPs behave as an outside company would: their code imports nothing of
kadosei's, their records never ride on kadosei's transaction, their notifications arrive
through kadosei's public notification route, and a pending payment changes state once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import request
from sandbox_support import checkout_request, create_checkout, pay, payment
from sqlalchemy import func, select

from kadosei.models import ProviderNotification
from kadosei.providers.base import PaymentUnderWay
from kadosei.providers.registry import get_provider
from kadosei.sandbox import api, payments
from kadosei.sandbox.delivery import NotificationRefused
from kadosei.sandbox.jobs import send_notification

SANDBOX = Path(__file__).resolve().parents[2] / "kadosei" / "sandbox"
ALLOWED = ("kadosei.sandbox", "kadosei.extensions", "kadosei.jobs")


def _kadosei_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [name for name in names if name == "kadosei" or name.startswith("kadosei.")]


def test_the_sandbox_imports_nothing_of_kadosei_but_the_extensions_and_the_queue():
    modules = sorted(SANDBOX.glob("*.py"))
    assert len(modules) > 5
    for module in modules:
        for name in _kadosei_imports(module):
            assert name.startswith(ALLOWED), f"{module.name} imports {name}"


def test_a_checkout_at_the_sandbox_does_not_ride_on_kadoseis_transaction(db):
    """kadosei's pending work is neither written nor needed by the PSP, and kadosei rolling
    back does not undo the PSP's payment."""
    db.session.add(
        ProviderNotification(
            provider="sandbox_lumen",
            provider_reference="sbx_unrelated",
            reported_status="pending",
            effect="test",
            payload={},
        )
    )
    result = get_provider("sandbox_lumen").create_checkout(checkout_request())
    db.session.rollback()

    assert payment(db, result).status == "pending"
    assert db.session.scalar(select(func.count()).select_from(ProviderNotification)) == 0


def test_the_sandbox_notifies_kadosei_through_the_notification_route(app, client, db):
    requests = []
    app.before_request(lambda: requests.append(_request_line()) and None)
    result = create_checkout(db, get_provider("sandbox_orbit"))
    pay(client, result, "4242424242424242")

    assert send_notification(result.provider_reference) is True

    assert requests[-1] == ("POST", "/providers/sandbox_orbit/notifications", True)
    [received] = db.session.scalars(select(ProviderNotification)).all()
    assert received.reported_status == "succeeded"


def test_a_notification_kadosei_does_not_accept_stays_due(app, client, db):
    down = {"answer": ({"error": "maintenance"}, 503)}
    app.before_request(lambda: _notification_answer(down))
    result = create_checkout(db, get_provider("sandbox_lumen"))
    pay(client, result, "4000000000000002")

    with pytest.raises(NotificationRefused):
        send_notification(result.provider_reference)
    assert payment(db, result).notified_at is None

    down.clear()
    assert send_notification(result.provider_reference) is True
    assert payment(db, result).notified_at is not None


def test_a_page_loaded_before_the_checkout_expired_cannot_be_paid_after(db):
    """Deterministic: the customer's page read the payment as pending, kadosei then expired
    it; the payment that follows changes nothing and notifies nothing."""
    result = create_checkout(db, get_provider("sandbox_harbor"))
    on_screen = payments.find_payment("sandbox_harbor", result.provider_reference)
    api.expire_payment("sandbox_harbor", result.provider_reference, timeout=1.0)

    payments.pay_by_card(on_screen, "4242424242424242")

    row = payment(db, result)
    assert (row.status, row.card_last4, row.notification_due_at) == ("expired", None, None)


def test_an_expiry_asked_for_after_the_customer_paid_is_refused(client, db):
    """Deterministic, the other order: kadosei's view of the payment is stale (pending), the
    customer paid meanwhile; the PSP refuses to expire it and keeps the payment."""
    provider = get_provider("sandbox_lumen")
    result = create_checkout(db, provider)
    assert provider.get_status(result.provider_reference).status == "pending"
    pay(client, result, "4242424242424242")

    with pytest.raises(PaymentUnderWay):
        provider.expire_checkout(result.provider_reference)
    assert payment(db, result).status == "succeeded"


def _request_line() -> tuple[str, str, bool]:
    return request.method, request.path, request.is_secure


def _notification_answer(state: dict):
    if request.path.endswith("/notifications"):
        return state.get("answer")
    return None
