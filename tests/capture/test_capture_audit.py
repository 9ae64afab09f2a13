"""Captures and voids in the audit log (docs/api.md §11), as refunds are: a person in the
portal or an application's API key, the amount and the payment; the owners' Audit page says it
in plain words. What was refused leaves no row, nor does kadosei's own capture-window void."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import AuditEvent, SessionTransition
from kadosei.services.captures import void_expired_authorisations
from tests import payment_road_fixtures as road
from tests.capture.capture_support import MerchantApi, csrf_token, held_payment
from tests.portal.payment_search_support import signed_in

MONEY_ACTIONS = ("payment_session.captured", "payment_session.voided")


crew = road.crew


@pytest.fixture
def merchant(client, crew) -> MerchantApi:
    return MerchantApi(client, crew.secret)


@pytest.fixture
def browser(app, crew):
    return signed_in(app, crew)


def _audits() -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action.in_(MONEY_ACTIONS))
    return list(db.session.scalars(query.order_by(AuditEvent.pk)))


def _post_form(browser, session_id: str, action: str, **fields):
    token = csrf_token(browser.get(f"/payments/{session_id}").get_data(as_text=True))
    response = browser.post(
        f"/payments/{session_id}/{action}", data={"csrf_token": token, **fields}
    )
    assert response.status_code == 303
    return response


def _audit_page(browser) -> str:
    return html.unescape(browser.get("/audit").get_data(as_text=True))


def test_a_capture_in_the_portal_is_audited_as_the_person(app, crew, merchant, customer, browser):
    held = held_payment(app, merchant, customer)

    _post_form(browser, held["id"], "capture", amount="10.00")

    [event] = _audits()
    assert event.action == "payment_session.captured"
    assert (event.user_id, event.target, event.ip) == (crew.user, held["id"], "127.0.0.1")
    assert event.details == {"amount": 1000, "authorized": 1999, "currency": "EUR", "mode": "test"}
    shown = _audit_page(browser)
    assert "Captured 10.00 EUR of the 19.99 EUR authorised" in shown
    assert crew.email in shown


def test_a_void_in_the_portal_is_audited_as_the_person(app, crew, merchant, customer, browser):
    held = held_payment(app, merchant, customer)

    _post_form(browser, held["id"], "void")

    [event] = _audits()
    assert event.action == "payment_session.voided"
    assert (event.user_id, event.target) == (crew.user, held["id"])
    assert (event.details["amount"], event.details["currency"]) == (1999, "EUR")
    assert "Voided an authorisation of 19.99 EUR" in _audit_page(browser)


def test_capture_and_cancel_through_an_api_key_audit_the_key_and_its_application(
    app, crew, merchant, customer, browser
):
    captured = held_payment(app, merchant, customer)
    voided = held_payment(app, merchant, customer)
    headers = {**merchant.headers, "Idempotency-Key": "capture-once"}
    capture = f"/api/v1/payment_sessions/{captured['id']}/capture"

    first = merchant.client.post(capture, json={"amount": 500}, headers=headers)
    replayed = merchant.client.post(capture, json={"amount": 500}, headers=headers)
    canceled = merchant.post(f"/payment_sessions/{voided['id']}/cancel")

    assert first.status_code == replayed.status_code == canceled.status_code == 200
    events = _audits()  # the replayed key captured nothing new
    assert [(e.action, e.target) for e in events] == [
        ("payment_session.captured", captured["id"]),
        ("payment_session.voided", voided["id"]),
    ]
    for event in events:
        assert event.user_id is None
        assert (event.details["api_key"], event.details["application"]) == (
            crew.key,
            crew.application,
        )
    shown = _audit_page(browser)
    assert f"API key {crew.key} of application {crew.application}" in shown
    assert "Captured 5.00 EUR of the 19.99 EUR authorised" in shown


def test_a_refused_capture_and_the_capture_window_void_are_not_audited(
    app, merchant, customer, browser
):
    held = held_payment(app, merchant, customer)
    too_much = merchant.client.post(
        f"/api/v1/payment_sessions/{held['id']}/capture",
        json={"amount": 5000},
        headers=merchant.headers,
    )
    row = SessionTransition.query.filter_by(session_id=held["id"], to_status="requires_capture")
    row = row.one()
    row.created_at = row.created_at - timedelta(days=8)
    db.session.commit()

    with app.app_context():
        assert void_expired_authorisations() == 1

    assert too_much.status_code == 422
    assert merchant.session(held["id"])["status"] == "expired"
    assert _audits() == []
