"""The plumbing every fake shares: knobs, records, notification delivery and its senders."""

from __future__ import annotations

import json
import time

import pytest
import requests
import stripe
from flask import Flask, request

from tests.fakes.loopback import flask_client_sender
from tests.fakes.mollie_api import MollieApiFake
from tests.fakes.stripe_api import StripeApiFake


def test_fail_next_counts_requests_and_every_request_is_recorded(mollie_api, mollie_client):
    mollie_api.fail_next(502, times=2)
    answers = [
        requests.get(
            f"{mollie_api.url}/v2/payments",
            headers={"Authorization": f"Bearer {mollie_api.api_key}"},
            timeout=5,
        ).status_code
        for _ in range(3)
    ]
    requests.get(f"{mollie_api.url}/nowhere", timeout=5)

    assert answers == [502, 502, 200]
    assert [r.path for r in mollie_api.requests] == ["/v2/payments"] * 3 + ["/nowhere"]
    assert mollie_api.requests[0].header("authorization") == f"Bearer {mollie_api.api_key}"


def test_notifications_reach_a_flask_app_through_its_test_client(stripe_api, stripe_client):
    receiver = Flask("receiver")
    got: list[tuple[str, dict]] = []

    @receiver.post("/providers/stripe_eu/notifications")
    def notifications():
        event = stripe.Webhook.construct_event(
            request.get_data(), request.headers["Stripe-Signature"], stripe_api.webhook_secret
        )
        got.append((request.path, event.type))
        return "", 204

    stripe_api.notification_url = "https://kadosei.example/providers/stripe_eu/notifications"
    stripe_api.sender = flask_client_sender(receiver.test_client())
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 100,
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ],
        }
    )

    stripe_api.pay(session.id)

    assert got[0] == ("/providers/stripe_eu/notifications", "checkout.session.completed")
    assert all(n.delivered for n in stripe_api.notifications)


def test_an_unreachable_receiver_is_recorded_and_can_be_retried(stripe_api, notification_sink):
    stripe_api.notification_url = "http://127.0.0.1:9/closed"
    stripe_api.expire(_open_session(stripe_api))
    [lost] = stripe_api.notifications
    assert lost.attempts[0].status == 0 and not lost.delivered

    lost.url = notification_sink.endpoint
    stripe_api.redeliver(lost)

    assert lost.delivered
    assert json.loads(notification_sink.received[0].body)["type"] == "checkout.session.expired"


def test_start_fake_runs_several_accounts_of_one_provider(start_fake):
    eu = start_fake(StripeApiFake)
    us = start_fake(StripeApiFake, secret_key="sk_test_us_account")

    assert eu.url != us.url and us.secret_key == "sk_test_us_account"
    assert requests.get(f"{us.url}/v1/checkout/sessions", timeout=5).status_code == 401


def test_stopping_ends_a_hanging_request():
    fake = MollieApiFake().start()
    fake.hang_next(60)
    with pytest.raises(requests.Timeout):
        requests.get(f"{fake.url}/v2/payments", timeout=0.3)

    started = time.monotonic()
    fake.stop()

    assert time.monotonic() - started < 2  # the hang waits on the stop signal, not 60 s
    assert fake.requests_to("GET", "/v2/payments")


def _open_session(fake: StripeApiFake) -> str:
    client = stripe.StripeClient(
        fake.secret_key, base_addresses={"api": fake.url}, max_network_retries=0
    )
    return client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 100,
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ],
        }
    ).id
