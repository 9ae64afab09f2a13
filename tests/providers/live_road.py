"""The customer's and the merchant's side of the live road tests (a real provider account
against its protocol fake): keys, sessions, the fake's hosted page, the merchant's endpoint."""

from __future__ import annotations

import json

import requests

from kadosei.models import Attempt
from tests.fakes.loopback import FakePspServer, flask_client_sender
from tests.payments.payments_support import path_of, session_body

SANDBOXES = ("sandbox_lumen", "sandbox_harbor", "sandbox_orbit")
# Routing rules that leave test mode only the configured accounts.
NO_SANDBOXES = {
    "rules": [
        {"kind": "disable_provider", "provider": name, "note": "real accounts only"}
        for name in SANDBOXES
    ]
}


def app_config_for(redis_url: str, accounts: list[dict], rules: dict | None = None) -> dict:
    """An app whose KADOSEI_PROVIDERS holds ``accounts`` (and routing starts with ``rules``)."""
    config = {
        "REDIS_URL": redis_url,
        "KADOSEI_PROVIDERS": json.dumps({"providers": accounts}),
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": True,
        "KADOSEI_WEBHOOK_TIMEOUT": 2.0,
    }
    if rules:
        config["KADOSEI_ROUTING"] = json.dumps(rules)
    return config


def wire(fake: FakePspServer, name: str, client) -> None:
    """The notification URL registered at the provider for the account, pointing at kadosei
    (Mollie takes it per payment instead); notifications wait for ``deliver_pending``."""
    fake.notification_url = f"https://kadosei.test/providers/{name}/notifications"
    fake.sender = flask_client_sender(client)
    fake.hold_notifications = True  # delivered by the test, from the test's thread


def live_key(factories, mode: str = "live"):
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    _, key = factories.make_api_key(application, mode)
    return application, user, key


def create_session(client, factories, key, **overrides) -> dict:
    answer = client.post(
        "/api/v1/payment_sessions",
        json=session_body(**overrides),
        headers=factories.key_headers(key),
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def read_session(client, factories, key, session: dict) -> dict:
    answer = client.get(
        f"/api/v1/payment_sessions/{session['id']}", headers=factories.key_headers(key)
    )
    assert answer.status_code == 200
    return answer.get_json()


def to_hosted_page(client, session: dict) -> str:
    """The customer opens ``checkout_url``: kadosei routes and sends them to the provider."""
    answer = client.get(path_of(session["checkout_url"]))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return answer.headers["Location"]


def pay_on_the_fake(hosted_url: str, card: str) -> requests.Response:
    """The customer's browser on the fake's hosted page: the form, then pay."""
    page = requests.get(hosted_url, timeout=5)
    assert page.status_code == 200 and "card_number" in page.text
    return requests.post(hosted_url, data={"card_number": card}, allow_redirects=False, timeout=5)


def cancel_on_the_fake(hosted_url: str) -> str:
    """The customer leaves through the hosted page's cancel link; where the provider sends
    them back."""
    left = requests.get(f"{hosted_url}/cancel", allow_redirects=False, timeout=5)
    assert left.status_code == 303
    return left.headers["Location"]


def back_at_kadosei(client, landing: str) -> str:
    """The customer's browser follows the provider's redirect to kadosei's return page;
    where kadosei sends them on (the shop's success or cancel URL)."""
    assert landing.startswith("https://kadosei.test/"), landing
    answer = client.get(path_of(landing))
    assert answer.status_code == 303
    return answer.headers["Location"]


def attempts_of(session: dict) -> list[Attempt]:
    return Attempt.query.filter_by(session_id=session["id"]).order_by(Attempt.pk).all()


def merchant_endpoint(client, factories, application, user, url: str, mode: str = "test") -> str:
    """The merchant registers a webhook endpoint through the management API; its secret."""
    created = client.post(
        f"/api/v1/applications/{application.id}/webhook_endpoints",
        json={"url": url, "mode": mode},
        headers=factories.jwt_headers(user),
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["secret"]
