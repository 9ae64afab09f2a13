"""Helpers for the retry tests: the merchant's API, and a customer's browser on kadosei's
checkout page and the sandbox providers' hosted pages (docs/api.md §5, §6)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.jobs.worker import AppWorker
from kadosei.models import Attempt

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ATTEMPT_FIELD = re.compile(r'name="attempt"[^>]*value="([^"]+)"')
PAYS = "4242424242424242"
DECLINED = "4000000000000002"  # card_declined: the provider's refusal, another may accept
NO_FUNDS = "4000000000009995"  # insufficient_funds: the issuer's, the same anywhere
SUCCESS = "https://shop.example/thanks"
CANCEL = "https://shop.example/cart"
NAMES = {"sandbox_harbor": "Harbor", "sandbox_lumen": "Lumen", "sandbox_orbit": "Orbit"}


class MerchantApi:
    def __init__(self, client: FlaskClient, secret: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {secret}"}

    def create(self, **overrides):
        body = {
            "amount": 1999,
            "currency": "EUR",
            "payment_method": "card",
            "success_url": SUCCESS,
            "cancel_url": CANCEL,
            **overrides,
        }
        return self.client.post("/api/v1/payment_sessions", json=body, headers=self.headers)

    def create_session(self, **overrides) -> dict:
        response = self.create(**overrides)
        assert response.status_code == 201, response.json
        return response.json

    def session(self, session_id: str) -> dict:
        response = self.client.get(f"/api/v1/payment_sessions/{session_id}", headers=self.headers)
        assert response.status_code == 200, response.json
        return response.json

    def event_types(self, session_id: str) -> list[str]:
        events = self.client.get(
            "/api/v1/events",
            query_string={"payment_session": session_id, "limit": 100},
            headers=self.headers,
        ).json["data"]
        return [event["type"] for event in reversed(events)]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def field(pattern: re.Pattern, html: str) -> str:
    match = pattern.search(html)
    assert match, f"the page has no {pattern.pattern}"
    return match.group(1)


class Customer:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def open_checkout(self, session: dict):
        return self.client.get(path_of(session["checkout_url"]))

    def go_to_hosted_page(self, session: dict) -> str:
        response = self.open_checkout(session)
        assert response.status_code == 303, response.data[:300]
        return response.headers["Location"]

    def pay(self, hosted_url: str, card_number: str) -> str:
        """Pay on the hosted page and come back to kadosei; returns where kadosei sends them."""
        page = self.client.get(path_of(hosted_url))
        assert page.status_code == 200, page.data[:300]
        token = field(CSRF, page.get_data(as_text=True))
        back = self.client.post(
            path_of(hosted_url), data={"csrf_token": token, "card_number": card_number}
        )
        assert back.status_code == 303, back.data[:300]
        done = self.client.get(path_of(back.headers["Location"]))
        assert done.status_code == 303, done.data[:300]
        return done.headers["Location"]

    def declined_page(self, session: dict) -> tuple[str, dict]:
        """kadosei's page after a decline: its text and the Try again form's fields."""
        page = self.open_checkout(session)
        assert page.status_code == 200, page.data[:300]
        html = page.get_data(as_text=True)
        return html, {"csrf_token": field(CSRF, html), "attempt": field(ATTEMPT_FIELD, html)}

    def try_again(self, session: dict, form: dict | None = None):
        """Press "Try again" (the page's form, or ``form`` as submitted before)."""
        if form is None:
            _, form = self.declined_page(session)
        return self.client.post(f"/checkout/{session['id']}/retry", data=form)

    def return_to_shop(self, session: dict):
        _, form = self.declined_page(session)
        return self.client.post(
            f"/checkout/{session['id']}/give_up", data={"csrf_token": form["csrf_token"]}
        )


def attempts_of(session: dict) -> list[Attempt]:
    return Attempt.query.filter_by(session_id=session["id"]).order_by(Attempt.pk).all()


def run_jobs(app: Flask) -> None:
    """Run every queued job (sandbox notifications, webhook deliveries) as the worker would."""
    worker = AppWorker([get_queue(app)], connection=redis_connection(app))
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
