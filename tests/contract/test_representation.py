"""Every object the API and webhooks emit has exactly the shape of its response model (the
models the OpenAPI document is generated from), and the document's request examples are
accepted by the request models."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from kadosei.api.openapi import openapi_document
from kadosei.models import Event
from kadosei.schemas import requests as rq
from kadosei.schemas import responses as rs
from kadosei.webhooks.signing import event_body
from tests.factories import PASSWORD

SESSION = {
    "amount": 1999,
    "currency": "EUR",
    "payment_method": "card",
    "success_url": "https://shop.example/thanks",
    "cancel_url": "https://shop.example/cart",
    "reference": "order-42",
    "customer_email": "ada@example.com",
    "metadata": {"cart": "c_1"},
}


def _shape(model, response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    model.model_validate(body)
    return body


def test_management_objects_match_their_models(client, factories):
    _, user = factories.make_merchant(email="ada@shop.example")
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    _shape(rs.TokenPair, tokens)
    auth = {"Authorization": f"Bearer {tokens.get_json()['access_token']}"}
    v1 = "/api/v1"

    _shape(rs.Merchant, client.get(f"{v1}/merchant", headers=auth))
    app_id = _shape(
        rs.Application,
        client.post(f"{v1}/applications", json={"name": "Shop"}, headers=auth),
        201,
    )["id"]
    _shape(rs.ApplicationList, client.get(f"{v1}/applications", headers=auth))
    key = _shape(
        rs.NewApiKey,
        client.post(f"{v1}/applications/{app_id}/api_keys", json={"mode": "test"}, headers=auth),
        201,
    )
    _shape(rs.ApiKeyList, client.get(f"{v1}/applications/{app_id}/api_keys", headers=auth))
    revoked = client.delete(f"{v1}/applications/{app_id}/api_keys/{key['id']}", headers=auth)
    _shape(rs.ApiKey, revoked)
    _shape(rs.Application, client.delete(f"{v1}/applications/{app_id}", headers=auth))


def test_webhook_endpoint_objects_and_the_test_event_match_their_models(client, factories):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    auth = factories.jwt_headers(user)
    base = f"/api/v1/applications/{application.id}/webhook_endpoints"
    new = {"url": "https://hooks.shop.example/kadosei", "mode": "test", "description": "Shop"}

    we_id = _shape(rs.WebhookEndpointWithSecret, client.post(base, json=new, headers=auth), 201)[
        "id"
    ]
    one = f"{base}/{we_id}"
    _shape(rs.WebhookEndpoint, client.get(one, headers=auth))
    _shape(rs.WebhookEndpointList, client.get(base, headers=auth))
    changed = client.patch(one, json={"events": ["payment_session.failed"]}, headers=auth)
    _shape(rs.WebhookEndpoint, changed)
    event = _shape(rs.Event, client.post(f"{one}/test", headers=auth), 201)
    assert event["data"]["object"]["object"] == "webhook_endpoint"
    _shape(rs.WebhookEndpointWithSecret, client.post(f"{one}/rotate_secret", headers=auth))
    deliveries = _shape(rs.WebhookDeliveryList, client.get(f"{one}/deliveries", headers=auth))
    assert deliveries["data"], "the test event's delivery is listed"
    _shape(rs.DeletedWebhookEndpoint, client.delete(one, headers=auth))


def test_payment_objects_events_and_webhook_bodies_match_their_models(client, factories, db):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    auth = factories.key_headers(secret)
    v1 = "/api/v1"

    session = _shape(
        rs.PaymentSession, client.post(f"{v1}/payment_sessions", json=SESSION, headers=auth), 201
    )
    _shape(rs.PaymentSession, client.get(f"{v1}/payment_sessions/{session['id']}", headers=auth))
    _shape(rs.PaymentSessionList, client.get(f"{v1}/payment_sessions", headers=auth))
    canceled = client.post(f"{v1}/payment_sessions/{session['id']}/cancel", headers=auth)
    _shape(rs.PaymentSession, canceled)
    events = _shape(rs.EventList, client.get(f"{v1}/events", headers=auth))
    assert [e["type"] for e in events["data"]] == ["payment_session.canceled"]
    event_id = events["data"][0]["id"]
    _shape(rs.Event, client.get(f"{v1}/events/{event_id}", headers=auth))

    # A webhook's body is the event as the API shows it, minus ``object``.
    body = json.loads(event_body(db.session.query(Event).filter_by(id=event_id).one()))
    assert "object" not in body
    rs.Event.model_validate({**body, "object": "event"})


def test_errors_match_the_envelope(client, factories):
    _, user = factories.make_merchant()
    auth = factories.jwt_headers(user)

    refused = client.post("/api/v1/applications", json={"name": "x" * 101}, headers=auth)
    unauthenticated = client.get("/api/v1/merchant")

    assert _shape(rs.Error, refused, 400)["error"]["param"] == "name"
    assert "param" not in _shape(rs.Error, unauthenticated, 401)["error"]


def test_a_representation_with_a_field_too_many_is_caught():
    body = {"received": True, "extra": 1}

    with pytest.raises(ValidationError):
        rs.NotificationReceived.model_validate(body)


@pytest.mark.parametrize("model", [rq.PaymentSessionCreate], ids=lambda model: model.__name__)
def test_the_documents_request_examples_are_accepted_by_the_api_models(app, model):
    examples = openapi_document()["components"]["schemas"][model.__name__]["examples"]

    for example in examples:
        model.model_validate(example, context={"mode": "live"})
