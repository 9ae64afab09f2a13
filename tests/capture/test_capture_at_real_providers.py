"""Capture later through the real adapters against the protocol fakes (docs/api.md §4.2,
§10): Stripe (Checkout Session ``payment_intent_data.capture_method=manual``, PaymentIntent
capture with ``amount_to_capture``, cancel), Mollie (``captureMode: manual``, the captures
API, release authorization) and Adyen (``manualCapture``, ``/payments/{pspReference}/captures``
and ``/cancels``, CAPTURE and CANCELLATION notifications matched by the stored pspReference)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from kadosei.models import Attempt
from tests.fakes import fixtures as fake_psps
from tests.fakes.adyen_checkout import AdyenCheckoutFake
from tests.fakes.loopback import flask_client_sender
from tests.fakes.mollie_api import MollieApiFake
from tests.fakes.stripe_api import StripeApiFake
from tests.payments.payments_support import path_of, run_jobs, session_body

start_fake = fake_psps.start_fake
SANDBOXES = ("sandbox_lumen", "sandbox_harbor", "sandbox_orbit")


@dataclass
class Psp:
    """One faked provider account: its fake, its account name, and how to read its books."""

    kind: str
    name: str
    fake: Any

    def held(self, attempt: Attempt) -> tuple[str, int]:
        """(the provider's status, what it captured) of the attempt's payment."""
        if self.kind == "stripe":
            session = self.fake.sessions[attempt.provider_reference]
            intent = self.fake.payment_intents[session["payment_intent"]]
            return intent["status"], intent.get("amount_received") or 0
        if self.kind == "mollie":
            payment = self.fake.payments[attempt.provider_reference]
            return payment["status"], int(payment.get("captured", 0) * 100)
        payment = self.fake.payments[attempt.payment_reference]
        return payment["status"], payment["captured"]


CAPTURED = {"stripe": "succeeded", "mollie": "paid", "adyen": "captured"}
VOIDED = {"stripe": "canceled", "mollie": "canceled", "adyen": "cancelled"}
HELD = {"stripe": "requires_capture", "mollie": "authorized", "adyen": "authorised"}


@pytest.fixture(params=["stripe", "mollie", "adyen"])
def psp(request, start_fake) -> Psp:
    kind = request.param
    fake = start_fake(
        {"stripe": StripeApiFake, "mollie": MollieApiFake, "adyen": AdyenCheckoutFake}[kind]
    )
    return Psp(kind, f"{kind}_t", fake)


def _account(psp: Psp, monkeypatch) -> dict:
    prefix = f"CAPTURE_{psp.kind.upper()}"
    if psp.kind == "stripe":
        secrets = {"secret_key": psp.fake.secret_key, "webhook_secret": psp.fake.webhook_secret}
        base = psp.fake.url
    elif psp.kind == "mollie":
        secrets, base = {"api_key": psp.fake.api_key}, psp.fake.url
    else:
        secrets = {
            "api_key": psp.fake.api_key,
            "merchant_account": psp.fake.merchant_account,
            "hmac_key": psp.fake.hmac_key,
        }
        base = psp.fake.api_base
    credentials = {}
    for field, value in secrets.items():
        monkeypatch.setenv(f"{prefix}_{field.upper()}", value)
        credentials[field] = f"env:{prefix}_{field.upper()}"
    return {
        "name": psp.name,
        "type": psp.kind,
        "mode": "test",
        "credentials": credentials,
        "api_base": base,
        "timeout_seconds": 2,
    }


@pytest.fixture
def app_config(redis_url, redis_client, psp, monkeypatch) -> dict:
    rules = [{"kind": "disable_provider", "provider": name} for name in SANDBOXES]
    return {
        "REDIS_URL": redis_url,
        "KADOSEI_PROVIDERS": json.dumps({"providers": [_account(psp, monkeypatch)]}),
        "KADOSEI_ROUTING": json.dumps({"rules": rules}),
    }


@pytest.fixture
def wired(psp, client) -> Psp:
    """The provider's notifications go to kadosei's route, delivered when the test says."""
    psp.fake.notification_url = f"https://kadosei.test/providers/{psp.name}/notifications"
    psp.fake.sender = flask_client_sender(client)
    psp.fake.hold_notifications = True
    return psp


@pytest.fixture
def key(factories) -> dict:
    _, secret = factories.make_api_key(factories.make_application(), "test")
    return {"Authorization": f"Bearer {secret}"}


def _held(client, key, psp: Psp, **overrides) -> tuple[dict, Attempt]:
    """A manual session the customer authorised on the provider's page: back on the shop's
    success page, the provider's notifications delivered, ``requires_capture``."""
    created = client.post(
        "/api/v1/payment_sessions",
        json=session_body(capture_method="manual", **overrides),
        headers=key,
    )
    assert created.status_code == 201, created.get_json()
    session = created.get_json()
    hosted = client.get(path_of(session["checkout_url"])).headers["Location"]
    assert hosted.startswith(psp.fake.url)
    page = requests.get(hosted, timeout=5)
    assert page.status_code == 200
    paid = requests.post(
        hosted, data={"card_number": "4242424242424242"}, allow_redirects=False, timeout=5
    )
    assert paid.status_code == 303, paid.text[:300]
    back = client.get(path_of(paid.headers["Location"]))
    assert back.headers["Location"].startswith("https://shop.example/thanks")
    psp.fake.deliver_pending()
    held = client.get(f"/api/v1/payment_sessions/{session['id']}", headers=key).get_json()
    assert held["status"] == "requires_capture", held
    attempt = Attempt.query.filter_by(session_id=session["id"]).one()
    return held, attempt


def _manual_was_asked(psp: Psp) -> bool:
    if psp.kind == "stripe":
        created = psp.fake.requests_to("POST", "/v1/checkout/sessions")[-1]
        return b"payment_intent_data[capture_method]=manual" in created.raw_body.replace(
            b"%5B", b"["
        ).replace(b"%5D", b"]")
    if psp.kind == "mollie":
        created = psp.fake.requests_to("POST", "/v2/payments")[-1]
        return created.body["captureMode"] == "manual"
    created = psp.fake.requests_to("POST", "/v72/sessions")[-1]
    return created.body["additionalData"]["manualCapture"] == "true"


def test_a_manual_session_is_authorised_only(client, key, wired):
    _, attempt = _held(client, key, wired)

    assert _manual_was_asked(wired)
    assert wired.held(attempt) == (HELD[wired.kind], 0)
    if wired.kind == "adyen":
        assert attempt.payment_reference and attempt.payment_reference != attempt.provider_reference


def test_part_of_the_hold_is_captured_at_the_provider(client, key, wired):
    held, attempt = _held(client, key, wired)

    response = client.post(
        f"/api/v1/payment_sessions/{held['id']}/capture", json={"amount": 1500}, headers=key
    )

    assert response.status_code == 200, response.get_json()
    captured = response.get_json()
    assert (captured["status"], captured["amount_captured"]) == ("succeeded", 1500)
    assert wired.held(Attempt.query.filter_by(id=attempt.id).one()) == (CAPTURED[wired.kind], 1500)
    wired.fake.deliver_pending()  # the provider's word on the capture changes nothing more
    again = client.get(f"/api/v1/payment_sessions/{held['id']}", headers=key).get_json()
    assert again == captured


def test_cancel_voids_the_hold_at_the_provider(client, key, wired):
    held, attempt = _held(client, key, wired)

    response = client.post(f"/api/v1/payment_sessions/{held['id']}/cancel", headers=key)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "canceled"
    assert wired.held(Attempt.query.filter_by(id=attempt.id).one())[0] == VOIDED[wired.kind]
    wired.fake.deliver_pending()
    again = client.get(f"/api/v1/payment_sessions/{held['id']}", headers=key).get_json()
    assert again["status"] == "canceled"


def test_a_provider_error_at_capture_is_503_and_the_hold_stays(client, key, wired):
    held, attempt = _held(client, key, wired)
    wired.fake.fail_next(500)

    response = client.post(f"/api/v1/payment_sessions/{held['id']}/capture", headers=key)

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "provider_unavailable"
    assert client.get(f"/api/v1/payment_sessions/{held['id']}", headers=key).get_json() == held
    assert Attempt.query.filter_by(id=attempt.id).one().status == "authorized"
    assert wired.held(attempt) == (HELD[wired.kind], 0)

    retried = client.post(f"/api/v1/payment_sessions/{held['id']}/capture", headers=key)
    assert retried.status_code == 200 and retried.get_json()["amount_captured"] == 1999


def test_an_adyen_hold_placed_after_cancel_is_voided_there(client, key, wired):
    """Adyen cannot end a session early: a customer still on its page can pay after kadosei
    canceled the session. The authorisation is recorded, then voided at Adyen (``/cancels``)."""
    if wired.kind != "adyen":
        pytest.skip("Stripe and Mollie end the checkout when the session is canceled")
    created = client.post(
        "/api/v1/payment_sessions", json=session_body(capture_method="manual"), headers=key
    ).get_json()
    hosted = client.get(path_of(created["checkout_url"])).headers["Location"]
    canceled = client.post(f"/api/v1/payment_sessions/{created['id']}/cancel", headers=key)
    assert canceled.get_json()["status"] == "canceled"

    paid = requests.post(
        hosted, data={"card_number": "4242424242424242"}, allow_redirects=False, timeout=5
    )
    assert paid.status_code == 303
    wired.fake.deliver_pending()  # AUTHORISATION: a hold nobody uses
    attempt = Attempt.query.filter_by(session_id=created["id"]).one()
    assert attempt.status == "unused_hold"
    assert wired.held(attempt) == (HELD["adyen"], 0)

    attempt_id = attempt.id

    run_jobs(client.application)  # the void job

    assert wired.held(Attempt.query.filter_by(id=attempt_id).one()) == (VOIDED["adyen"], 0)
    wired.fake.deliver_pending()  # CANCELLATION: already recorded
    after = client.get(f"/api/v1/payment_sessions/{created['id']}", headers=key).get_json()
    assert (after["status"], after["conflict"]) == ("canceled", False)
    stored = Attempt.query.filter_by(id=attempt_id).one()
    assert (stored.status, stored.error_code) == ("canceled", "voided")
