"""Refunds in the audit log (docs/api.md §11): who asked — a person in the portal, or an
application through its API key — how much, of which payment and why; the owners' Audit page
says it in plain words. A refund that was not made leaves no row."""

from __future__ import annotations

import html

import pytest
from refunds_support import paid_session, refund
from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import AuditEvent, Refund
from tests import payment_road_fixtures as road
from tests.payments.payments_support import MerchantApi, csrf_token
from tests.portal.payment_search_support import signed_in

crew = road.crew


@pytest.fixture
def shop(client, crew) -> MerchantApi:
    return MerchantApi(client, crew.secret)


def _refund_audits() -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == "refund.created")
    return list(db.session.scalars(query.order_by(AuditEvent.pk)))


def _audit_page(browser) -> str:
    response = browser.get("/audit")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_a_refund_from_the_portal_is_audited_as_the_person_who_made_it(app, crew, shop, customer):
    session = paid_session(shop, customer, amount=2000)
    browser = signed_in(app, crew)
    page = browser.get(f"/payments/{session['id']}").get_data(as_text=True)

    form = {"csrf_token": csrf_token(page), "amount": "5.00", "reason": "duplicate"}
    browser.post(f"/payments/{session['id']}/refunds", data=form)

    made = Refund.query.one()
    [event] = _refund_audits()
    assert (event.user_id, event.target, event.merchant_id) == (crew.user, made.id, crew.merchant)
    assert event.ip == "127.0.0.1"
    assert event.details == {
        "payment_session": session["id"],
        "amount": 500,
        "currency": "EUR",
        "reason": "duplicate",
        "mode": "test",
    }
    shown = _audit_page(browser)
    assert f"Refunded 5.00 EUR of payment {session['id']} (reason: duplicate)" in shown
    assert crew.email in shown


def test_a_refund_through_an_api_key_audits_the_key_and_its_application(app, crew, shop, customer):
    session = paid_session(shop, customer, amount=1000)
    body = {"payment_session": session["id"], "amount": 250}

    first = refund(shop, body, key="refund-once")
    replayed = refund(shop, body, key="refund-once")

    assert first.status_code == replayed.status_code == 201
    [event] = _refund_audits()  # a replayed Idempotency-Key refunds nothing new
    assert event.user_id is None
    assert event.target == first.json["id"]
    assert event.details["api_key"] == crew.key
    assert event.details["application"] == crew.application
    assert (event.details["amount"], event.details["currency"]) == (250, "EUR")
    assert event.details["reason"] is None
    listed = shop.client.get("/api/v1/audit_events", headers=crew.jwt).json
    [from_api] = [e for e in listed["data"] if e["action"] == "refund.created"]
    assert from_api["details"]["api_key"] == crew.key and from_api["user"] is None
    shown = _audit_page(signed_in(app, crew))
    assert f"API key {crew.key} of application {crew.application}" in shown
    assert f"Refunded 2.50 EUR of payment {session['id']}" in shown


def test_a_refund_that_is_refused_is_not_audited(crew, shop, customer):
    session = paid_session(shop, customer, amount=1000)

    answer = refund(shop, {"payment_session": session["id"], "amount": 1001})

    assert answer.status_code == 422
    assert _refund_audits() == []
