"""Refunds through Stripe, Mollie and Adyen accounts (docs/api.md §4.3, §10), against the
protocol fakes: the customer pays on the fake's hosted page, the merchant refunds through the
API, the provider answers ``pending``, then its signed notification (Stripe ``refund.updated``,
Mollie's payment webhook listing the refund, Adyen's ``REFUND`` item) ends it — once."""

from __future__ import annotations

import json

import pytest

from kadosei.models import Attempt, Event, Refund
from tests.fakes import fixtures as fake_psps
from tests.fakes.adyen_checkout import AdyenCheckoutFake
from tests.fakes.loopback import flask_client_sender
from tests.fakes.mollie_api import MollieApiFake
from tests.fakes.stripe_api import StripeApiFake
from tests.payments.payments_support import MerchantApi, path_of

start_fake = fake_psps.start_fake
NO_SANDBOXES = [
    {"kind": "disable_provider", "provider": name, "note": "one real provider only"}
    for name in ("sandbox_lumen", "sandbox_harbor", "sandbox_orbit")
]
KINDS = {"stripe": StripeApiFake, "mollie": MollieApiFake, "adyen": AdyenCheckoutFake}


@pytest.fixture(params=sorted(KINDS))
def psp(request, start_fake):
    """(account name, fake) of one provider account in test mode."""
    kind = request.param
    fake = start_fake(KINDS[kind])
    return f"{kind}_acct", fake


def _account(name: str, fake, monkeypatch) -> dict:
    kind = name.removesuffix("_acct")
    if kind == "stripe":
        monkeypatch.setenv("ACCT_SECRET_KEY", fake.secret_key)
        monkeypatch.setenv("ACCT_WHSEC", fake.webhook_secret)
        credentials = {"secret_key": "env:ACCT_SECRET_KEY", "webhook_secret": "env:ACCT_WHSEC"}
        api_base = fake.url
    elif kind == "mollie":
        monkeypatch.setenv("ACCT_API_KEY", fake.api_key)
        credentials = {"api_key": "env:ACCT_API_KEY"}
        api_base = fake.url
    else:
        monkeypatch.setenv("ACCT_API_KEY", fake.api_key)
        monkeypatch.setenv("ACCT_HMAC", fake.hmac_key)
        credentials = {
            "api_key": "env:ACCT_API_KEY",
            "merchant_account": fake.merchant_account,
            "hmac_key": "env:ACCT_HMAC",
        }
        api_base = fake.api_base
    return {
        "name": name,
        "type": kind,
        "mode": "test",
        "credentials": credentials,
        "api_base": api_base,
        "timeout_seconds": 2,
    }


@pytest.fixture
def app_config(redis_url, redis_client, psp, monkeypatch) -> dict:
    name, fake = psp
    return {
        "REDIS_URL": redis_url,
        "KADOSEI_PROVIDERS": json.dumps({"providers": [_account(name, fake, monkeypatch)]}),
        "KADOSEI_ROUTING": json.dumps({"rules": NO_SANDBOXES}),
    }


@pytest.fixture
def wired(client, psp):
    """The fake's notifications go to kadosei's route, held until the test delivers them."""
    name, fake = psp
    fake.notification_url = f"https://kadosei.test/providers/{name}/notifications"
    fake.sender = flask_client_sender(client)
    fake.hold_notifications = True
    if isinstance(fake, StripeApiFake):
        fake.refunds_settle_later = True
    return fake


def _paid(client, merchant: MerchantApi, fake) -> dict:
    session = merchant.create_session(amount=1999)
    assert client.get(path_of(session["checkout_url"])).status_code == 303
    attempt = Attempt.query.filter_by(session_id=session["id"]).one()
    fake.pay(attempt.provider_reference)
    fake.deliver_pending()
    paid = merchant.session(session["id"])
    assert paid["status"] == "succeeded" and paid["amount_captured"] == 1999
    return paid


def _settle(fake, refund: Refund) -> None:
    """The provider's bank answers: Stripe and Mollie settle the pending refund (Adyen's
    REFUND notification was queued when it took the refund)."""
    if isinstance(fake, StripeApiFake | MollieApiFake):
        fake.settle_refund(refund.provider_refund_reference)


def test_a_refund_is_sent_to_the_provider_that_took_the_money_and_its_notification_ends_it(
    client, factories, psp, wired
):
    name, fake = psp
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    merchant = MerchantApi(client, secret)
    session = _paid(client, merchant, fake)

    created = merchant.client.post(
        "/api/v1/refunds",
        json={"payment_session": session["id"], "amount": 500, "reason": "duplicate"},
        headers=merchant.headers,
    )

    assert created.status_code == 201, created.json
    assert created.json["status"] == "pending" and created.json["amount"] == 500
    row = Refund.query.one()
    assert row.provider == name and row.provider_refund_reference
    _settle(fake, row)
    delivered = fake.deliver_pending()
    assert delivered and all(n.attempts[-1].status == 200 for n in delivered)
    done = merchant.get(f"/refunds/{row.id}").json
    assert done["status"] == "succeeded"
    assert merchant.session(session["id"])["amount_refunded"] == 500
    for notification in delivered:  # the same notifications again change nothing
        fake.redeliver(notification)
    assert Event.query.filter_by(type="refund.succeeded").count() == 1
    assert Event.query.filter_by(type="refund.created").count() == 1
    too_much = merchant.client.post(
        "/api/v1/refunds",
        json={"payment_session": session["id"], "amount": 1500},
        headers=merchant.headers,
    )
    assert too_much.status_code == 422


def test_a_provider_error_at_refund_creation_writes_nothing(client, factories, psp, wired):
    _, fake = psp
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    merchant = MerchantApi(client, secret)
    session = _paid(client, merchant, fake)
    fake.fail_next(500)

    answer = merchant.client.post(
        "/api/v1/refunds", json={"payment_session": session["id"]}, headers=merchant.headers
    )

    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "provider_unavailable"
    assert Refund.query.count() == 0
    assert Event.query.filter(Event.type.like("refund.%")).count() == 0
