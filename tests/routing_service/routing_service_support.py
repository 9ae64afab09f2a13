"""Helpers for the routing service tests: a controllable clock, the merchant's API, a
customer's browser, and the router's view of a segment."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker
from kadosei.models import Attempt
from kadosei.services import routing
from tests.conftest import HttpsClient
from tests.factories import PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAYS = "4242424242424242"
CARD_EUR = {"mode": "test", "payment_method": "card", "currency": "EUR", "amount": 1999}
PROVIDERS = ("sandbox_harbor", "sandbox_lumen", "sandbox_orbit")  # all take card in EUR


class Clock:
    """Seconds the router sees; tests move it forward to pass breaker cool-downs."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MerchantApi:
    def __init__(self, client: FlaskClient, secret: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {secret}"}

    def create_session(self, **overrides) -> dict:
        body = {
            "amount": 1999,
            "currency": "EUR",
            "payment_method": "card",
            "success_url": "https://shop.example/thanks",
            "cancel_url": "https://shop.example/cart",
            **overrides,
        }
        response = self.client.post("/api/v1/payment_sessions", json=body, headers=self.headers)
        assert response.status_code == 201, response.json
        return response.json


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no csrf_token"
    return match.group(1)


class Customer:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def go_to_hosted_page(self, session: dict) -> str:
        response = self.client.get(path_of(session["checkout_url"]))
        assert response.status_code == 303, response.data[:300]
        return response.headers["Location"]

    def pay(self, hosted_url: str, card_number: str = PAYS) -> str:
        """Pay on the hosted page and come back to kadosei; returns where kadosei sends them."""
        page = self.client.get(path_of(hosted_url))
        form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "card_number": card_number}
        back = self.client.post(path_of(hosted_url), data=form)
        assert back.status_code == 303, back.data[:300]
        done = self.client.get(path_of(back.headers["Location"]))
        assert done.status_code == 303, done.data[:300]
        return done.headers["Location"]


def attempts_of(session: dict) -> list[Attempt]:
    return Attempt.query.filter_by(session_id=session["id"]).order_by(Attempt.pk).all()


def router_view(providers=PROVIDERS, context=CARD_EUR) -> dict[str, dict]:
    """What the app's router believes now about card payments in EUR (test mode)."""
    return routing.get_router().provider_status(context, list(providers), routing.routing_now())


def run_jobs(app: Flask) -> None:
    """Run every queued job (the sandbox's notifications) as the worker would."""
    worker = AppWorker([get_queue(app)], connection=redis_connection(app))
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")


def signed_in_browser(app: Flask, user) -> FlaskClient:
    app.test_client_class = HttpsClient
    browser = app.test_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert browser.post("/login", data=form).status_code in (302, 303)
    return browser
