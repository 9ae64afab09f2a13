"""The customer's and the merchant's side of the live road tests (a real provider account
against its protocol fake), the steps every provider's road shares: the app's accounts, keys,
sessions, the fake's hosted page, failover, the merchant's endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from kadosei.extensions import db
from kadosei.models import Attempt, Event, PaymentSession, ProviderNotification
from kadosei.models.base import utcnow
from kadosei.services.reconciliation import QUIET_FOR
from tests.fakes.loopback import FakePspServer, flask_client_sender
from tests.payments.payments_support import path_of, run_jobs, session_body

SANDBOXES = ("sandbox_lumen", "sandbox_harbor", "sandbox_orbit")
# Routing rules that leave test mode only the configured accounts.
NO_SANDBOXES = {
    "rules": [
        {"kind": "disable_provider", "provider": name, "note": "real accounts only"}
        for name in SANDBOXES
    ]
}


def road_fixtures(default: dict, build: Callable) -> tuple:
    """A provider's ``setup`` and ``app_config`` fixtures: ``default`` the setup a test starts
    with unless it parametrizes ``setup``, ``build`` the provider's account builder
    (tests/providers/live_accounts.py) applied to each account's fake (the file's ``fakes``)."""

    @pytest.fixture
    def setup(request) -> dict:
        """The accounts (name, mode[, timeout]) and routing rules the app starts with; a test
        changes them with ``@pytest.mark.parametrize("setup", [...], indirect=True)``."""
        return getattr(request, "param", default)

    @pytest.fixture
    def app_config(redis_url, redis_client, setup, fakes, monkeypatch) -> dict:
        accounts = accounts_for(setup, fakes, build, monkeypatch)
        return app_config_for(redis_url, accounts, setup.get("rules"))

    return setup, app_config


def one_test_mode_account(name: str) -> dict:
    """The setup of one ``mode: test`` account and no sandboxes: test keys route to it alone."""
    return {"accounts": [(name, "test")], "rules": NO_SANDBOXES}


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


def failover_setup(first: str, second: str, first_timeout: float | None = None) -> dict:
    """Two live accounts, ``first`` chosen first (a fixed split), ``second`` for failover;
    ``first_timeout``: the first account's timeout in seconds."""
    account = (first, "live") if first_timeout is None else (first, "live", first_timeout)
    return {
        "accounts": [account, (second, "live")],
        "rules": {"rules": [{"kind": "fixed_split", "weights": {first: 100}}]},
    }


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


def assert_refused(client, factories, key, **overrides) -> None:
    """Session creation answers ``422 no_provider_available`` (no account takes it)."""
    answer = client.post(
        "/api/v1/payment_sessions",
        json=session_body(**overrides),
        headers=factories.key_headers(key),
    )
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["code"] == "no_provider_available"


def to_hosted_page(client, session: dict) -> str:
    """The customer opens ``checkout_url``: kadosei routes and sends them to the provider."""
    answer = client.get(path_of(session["checkout_url"]))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return answer.headers["Location"]


def provider_reference(hosted_url: str) -> str:
    """The attempt's reference at the provider, the last segment of its hosted page's URL (a
    Mollie payment's id, an Adyen or a Stripe Checkout session's)."""
    return hosted_url.rsplit("/", 1)[1]


def live_checkout(client, factories, **overrides) -> tuple[dict, str]:
    """A new merchant's live session and the hosted page its customer is sent to."""
    _, _, key = live_key(factories)
    session = create_session(client, factories, key, **overrides)
    return session, to_hosted_page(client, session)


def accounts_for(setup: dict, fakes: dict, build, monkeypatch) -> list[dict]:
    """KADOSEI_PROVIDERS accounts from a test's ``setup["accounts"]``: (name, mode) or
    (name, mode, timeout_seconds), each built by ``build`` on its fake."""
    accounts = []
    for name, mode, *timeout in setup["accounts"]:
        account = build(name, fakes[name], mode, monkeypatch)
        if timeout:
            account["timeout_seconds"] = timeout[0]
        accounts.append(account)
    return accounts


def wire_first(fakes: dict, client) -> FakePspServer:
    """The first account's fake, wired to kadosei (see ``wire``)."""
    name, fake = next(iter(fakes.items()))
    wire(fake, name, client)
    return fake


def past_expiry(session: dict) -> None:
    """The session's ``expires_at`` has passed (the sweep may expire it)."""
    _set(session, expires_at=utcnow() - timedelta(minutes=1))


def quiet_for_reconciliation(session: dict) -> None:
    """Nothing has happened to the session for longer than reconciliation waits (and it is
    far from its expiry)."""
    _set(
        session,
        updated_at=utcnow() - QUIET_FOR - timedelta(minutes=1),
        expires_at=utcnow() + timedelta(hours=1),
    )


def _set(session: dict, **values) -> None:
    db.session.execute(
        update(PaymentSession).where(PaymentSession.id == session["id"]).values(**values)
    )
    db.session.commit()


def session_row(session: dict) -> PaymentSession:
    return PaymentSession.query.filter_by(id=session["id"]).one()


def checkout_failing_over(
    client, factories, fakes: dict, failed: str, error_code: str, taken: str
) -> tuple[dict, str]:
    """A live checkout whose first attempt errors at ``failed`` (the test broke its fake) and
    whose customer is sent to ``taken``'s hosted page: (session, hosted URL)."""
    session, hosted = live_checkout(client, factories)
    assert hosted.startswith(fakes[taken].url)
    assert_failed_over(session, failed, error_code, taken)
    return session, hosted


def paid_after_failover(client, factories, fakes: dict, failed: str, taken: str) -> dict:
    """``failed`` answers a 5xx when the session's first attempt is created; the attempt fails
    over to ``taken``, where the customer pays and whose notification makes the session
    succeed: the session."""
    wire(fakes[taken], taken, client)
    fakes[failed].fail_next(503)
    session, hosted = checkout_failing_over(
        client, factories, fakes, failed, "provider_error", taken
    )
    assert pay_on_the_fake(hosted, "4242424242424242").status_code == 303
    fakes[taken].deliver_pending()
    assert session_row(session).status == "succeeded"
    return session


def assert_succeeded_once(fake: FakePspServer, notification, session: dict, attempt) -> None:
    """The provider's ``notification`` made the session succeed, recorded once against the
    attempt; the same notification again (a provider retry, a replay) changes nothing."""
    assert session_row(session).status == "succeeded"
    (noted,) = ProviderNotification.query.filter_by(provider=attempt.provider).all()
    assert (noted.reported_status, noted.attempt_id) == ("succeeded", attempt.id)
    succeeded = Event.query.filter_by(type="payment_session.succeeded", mode=session["mode"])
    assert succeeded.count() == 1
    assert fake.redeliver(notification).status == 200
    assert session_row(session).status == "succeeded" and succeeded.count() == 1


def assert_failed_over(session: dict, failed: str, error_code: str, taken: str) -> None:
    """The session's first attempt errored at ``failed``; the second went to ``taken``."""
    first, second = attempts_of(session)
    assert (first.provider, first.status, first.error_code) == (failed, "error", error_code)
    assert (second.provider, second.status) == (taken, "pending")
    assert second.explanation["failover_after"] == [failed]


def assert_declined(session: dict, error_code: str) -> None:
    """The provider's notification failed the session's one attempt with ``error_code``; the
    session did not succeed."""
    (attempt,) = attempts_of(session)
    assert (attempt.status, attempt.error_code) == ("failed", error_code)
    assert session_row(session).status != "succeeded"
    assert Event.query.filter_by(type="payment_session.succeeded").count() == 0


def assert_forgery_refused(answer, session: dict) -> None:
    """kadosei answered a forged notification ``400 notification_invalid``, recorded nothing
    and left the session open."""
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["code"] == "notification_invalid"
    assert session_row(session).status == "open"
    assert ProviderNotification.query.count() == 0


def paid_in_test_mode(client, factories, fake: FakePspServer, receiver, provider: str) -> dict:
    """A ``ks_test_`` session routed to the ``provider`` account, paid on its fake's page, its
    notification delivered and the merchant's webhook sent to ``receiver``: the webhook's
    payload, its signature verified with the endpoint's secret (Standard Webhooks)."""
    application, user, key = live_key(factories, "test")
    secret = merchant_endpoint(client, factories, application, user, receiver.url)
    session = create_session(client, factories, key)
    hosted = to_hosted_page(client, session)
    assert hosted.startswith(fake.url)
    assert pay_on_the_fake(hosted, "4242424242424242").status_code == 303
    fake.deliver_pending()
    run_jobs(client.application)
    (request,) = receiver.wait_for(1)
    payload = request.verify(secret)
    assert payload["type"] == "payment_session.succeeded" and payload["mode"] == "test"
    assert payload["data"]["object"]["id"] == session["id"]
    assert payload["data"]["object"]["status"] == "succeeded"
    assert session_row(session).provider == provider
    return payload


def pay_on_the_fake(hosted_url: str, card: str) -> requests.Response:
    """The customer's browser on the fake's hosted page: the form, then pay."""
    page = requests.get(hosted_url, timeout=5)
    assert page.status_code == 200 and "card_number" in page.text
    return requests.post(hosted_url, data={"card_number": card}, allow_redirects=False, timeout=5)


def paid_and_back(client, hosted_url: str) -> None:
    """The customer pays on the fake's hosted page and its redirect brings them, through
    kadosei's return page, to the shop's success URL."""
    paid = pay_on_the_fake(hosted_url, "4242424242424242")
    assert paid.status_code == 303
    assert back_at_kadosei(client, paid.headers["Location"]).startswith(
        "https://shop.example/thanks"
    )


def canceled_on_the_fake(client, factories) -> tuple[dict, str]:
    """A live checkout whose customer leaves through the hosted page's cancel link and comes
    back, through kadosei, to the shop's cancel URL: (the canceled session, where the provider
    sent the customer back)."""
    session, hosted = live_checkout(client, factories)
    landing = cancel_on_the_fake(hosted)
    assert back_at_kadosei(client, landing).startswith("https://shop.example/cart")
    assert session_row(session).status == "canceled"
    return session, landing


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
