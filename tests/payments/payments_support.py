"""Helpers for the payment road tests: a merchant's API client and a customer's browser."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker

CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def session_body(**overrides) -> dict:
    body = {
        "amount": 1999,
        "currency": "EUR",
        "payment_method": "card",
        "success_url": "https://shop.example/thanks?order=42",
        "cancel_url": "https://shop.example/cart",
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not ...}


class MerchantApi:
    """The merchant's server calling the payment API with one API key."""

    def __init__(self, client: FlaskClient, secret: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {secret}"}

    def create(self, body: dict | None = None, *, key: str | None = None, **overrides):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        payload = body if body is not None else session_body(**overrides)
        return self.client.post("/api/v1/payment_sessions", json=payload, headers=headers)

    def create_session(self, **overrides) -> dict:
        response = self.create(**overrides)
        assert response.status_code == 201, response.json
        return response.json

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", query_string=params, headers=self.headers)

    def post(self, path: str):
        return self.client.post(f"/api/v1{path}", headers=self.headers)

    def session(self, session_id: str) -> dict:
        response = self.get(f"/payment_sessions/{session_id}")
        assert response.status_code == 200, response.json
        return response.json

    def event_types(self, session_id: str) -> list[str]:
        events = self.get("/events", payment_session=session_id, limit="100").json["data"]
        return [event["type"] for event in reversed(events)]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no csrf_token"
    return match.group(1) or match.group(2)


class Customer:
    """The customer's browser on the checkout and the sandbox provider's hosted page."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def open_checkout(self, session: dict):
        return self.client.get(path_of(session["checkout_url"]))

    def go_to_hosted_page(self, session: dict) -> str:
        response = self.open_checkout(session)
        assert response.status_code == 303, response.data[:500]
        return response.headers["Location"]

    def pay_by_card(self, hosted_url: str, card_number: str):
        """Fill in the card form and press pay; returns the provider's 303 back to kadosei."""
        page = self.client.get(path_of(hosted_url))
        assert page.status_code == 200
        form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "card_number": card_number}
        return self.client.post(path_of(hosted_url), data=form)

    def press(self, hosted_url: str, action: str):
        """Press a hosted page button: ``cancel``, ``authorize`` or ``fail``."""
        page = self.client.get(path_of(hosted_url))
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post(path_of(hosted_url) + f"/{action}", data={"csrf_token": token})

    def follow(self, response) -> str:
        """Follow a 303 back to kadosei's return page; returns where kadosei sends them."""
        assert response.status_code == 303, response.data[:500]
        back = self.client.get(path_of(response.headers["Location"]))
        assert back.status_code == 303, back.data[:500]
        return back.headers["Location"]


def run_jobs(app: Flask) -> None:
    """Run every queued job (sandbox notifications, delayed cards) as the worker would."""
    worker = AppWorker([get_queue(app)], connection=redis_connection(app))
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")


def signed_notification(reference: str, status: str, **changes) -> tuple[str, bytes, dict]:
    """What the sandbox provider holding ``reference`` would send if its payment were now
    ``status``: (provider name, body, headers), signed with that provider's real scheme."""
    from kadosei.sandbox.models import SandboxPayment
    from kadosei.sandbox.schemes import build_notification

    stored = SandboxPayment.query.filter_by(id=reference).one()
    reported = SandboxPayment(
        id=stored.id,
        provider=stored.provider,
        attempt_id=stored.attempt_id,
        session_id=stored.session_id,
        mode=stored.mode,
        amount=stored.amount,
        currency=stored.currency,
        payment_method=stored.payment_method,
        return_url=stored.return_url,
        status=status,
        **changes,
    )
    body, headers = build_notification(reported)
    return stored.provider, body, headers


def post_notification(client: FlaskClient, provider: str, body: bytes, headers: dict):
    return client.post(
        f"/providers/{provider}/notifications",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
