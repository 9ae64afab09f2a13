"""The issue's "done when": a merchant adds an endpoint, a customer pays a sandbox session, and
the merchant's receiver gets ``payment_session.succeeded``, verified by the standard library."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import webhook_support

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker
from kadosei.models import DeliveryTry

receiver = webhook_support.receiver
webhook_app = webhook_support.webhook_app

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def run_worker() -> None:
    AppWorker([get_queue()], connection=redis_connection()).work(burst=True)


def test_paying_a_sandbox_session_sends_a_verified_succeeded_webhook(
    webhook_app, client, factories, receiver
):
    webhook_app.config["SANDBOX_PROCESSING_SECONDS"] = 0
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    _, api_key = factories.make_api_key(application, "test")
    created = client.post(
        f"/api/v1/applications/{application.id}/webhook_endpoints",
        json={"url": receiver.url, "mode": "test", "events": ["payment_session.succeeded"]},
        headers=factories.jwt_headers(user),
    )
    assert created.status_code == 201
    secret = created.get_json()["secret"]

    session = client.post(
        "/api/v1/payment_sessions",
        json={
            "amount": 1999,
            "currency": "EUR",
            "payment_method": "card",
            "success_url": "https://shop.example/thanks",
            "cancel_url": "https://shop.example/cart",
        },
        headers=factories.key_headers(api_key),
    ).get_json()
    hosted = client.get(path_of(session["checkout_url"])).headers["Location"]
    page = client.get(path_of(hosted)).get_data(as_text=True)
    form = {"csrf_token": CSRF.search(page).group(1), "card_number": "4242424242424242"}
    assert client.post(path_of(hosted), data=form).status_code == 303
    run_worker()  # the provider's notification, then the webhook delivery it causes

    (request,) = receiver.wait_for(1)
    payload = request.verify(secret)
    assert payload["type"] == "payment_session.succeeded"
    assert payload["mode"] == "test"
    assert payload["data"]["object"]["id"] == session["id"]
    assert payload["data"]["object"]["status"] == "succeeded"
    assert payload["data"]["object"]["amount"] == 1999
    events = client.get(
        "/api/v1/events", headers=factories.key_headers(api_key), query_string={"limit": 100}
    ).get_json()["data"]
    assert request.headers["webhook-id"] in {event["id"] for event in events}
    (logged,) = DeliveryTry.query.all()
    assert logged.succeeded and logged.status_code == 200
