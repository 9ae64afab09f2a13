"""A customer whose card was declined pays on the second try (docs/api.md §5 steps 5–6), against
the providers' protocol fakes: two accounts of one provider (Stripe, Mollie or Adyen), the
decline at the first account's hosted page, its signed notification, the customer back on
kadosei's page, "Try again" routed to the other account, paid there, its notification; the
merchant's endpoint gets ``payment_session.attempt_failed`` then ``payment_session.succeeded``,
both verified (Standard Webhooks).

The decline is the fakes' ``4000000000000002`` card, which each adapter's decline table marks
"another provider may succeed": Stripe's ``generic_decline``, Mollie's ``card_declined``,
Adyen's ``Refused``. How the customer comes back differs as it does at the real providers:
Mollie sends them to the redirect URL at once; Stripe's and Adyen's pages stay open with the
error, and the customer leaves through the page's cancel link."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from kadosei.services.session_expiry import end_declined_checkout
from tests.fakes import fixtures as fake_psps
from tests.fakes.adyen_checkout import AdyenCheckoutFake
from tests.fakes.mollie_api import MollieApiFake
from tests.fakes.stripe_api import StripeApiFake
from tests.payments.payments_support import path_of, run_jobs
from tests.providers.live_accounts import adyen_account, mollie_account, stripe_account
from tests.providers.live_road import (
    NO_SANDBOXES,
    accounts_for,
    app_config_for,
    attempts_of,
    back_at_kadosei,
    create_session,
    live_key,
    merchant_endpoint,
    pay_on_the_fake,
    session_row,
    to_hosted_page,
    wire,
)
from tests.retry.retry_support import ATTEMPT_FIELD, CSRF, DECLINED, PAYS, field
from tests.webhooks import webhook_support

start_fake = fake_psps.start_fake
receiver = webhook_support.receiver

CANCEL_LINK = re.compile(r"class='cancel' href='([^']+)'")


@dataclass(frozen=True)
class Road:
    """Two test-mode accounts of one provider: ``names[0]`` chosen first (a fixed split)."""

    names: tuple[str, str]
    build: Any  # live_accounts' builder for the provider
    start: Any  # (start_fake, name) -> a running fake for that account

    @property
    def setup(self) -> dict:
        first = self.names[0]
        return {
            "accounts": [(name, "test") for name in self.names],
            "rules": {
                "rules": [
                    *NO_SANDBOXES["rules"],
                    {"kind": "fixed_split", "weights": {first: 100}},
                ]
            },
        }


ROADS = {
    "stripe": Road(
        ("stripe_eu", "stripe_us"), stripe_account, lambda start, _: start(StripeApiFake)
    ),
    "mollie": Road(
        ("mollie_nl", "mollie_be"),
        mollie_account,
        lambda start, name: start(MollieApiFake, api_key="test_" + "k" * 30 + name[-2:]),
    ),
    "adyen": Road(
        ("adyen_eu", "adyen_us"),
        adyen_account,
        lambda start, name: start(
            AdyenCheckoutFake, merchant_account=f"Kadosei{name[-2:].upper()}ECOM"
        ),
    ),
}


@pytest.fixture(params=list(ROADS))
def road(request) -> Road:
    return ROADS[request.param]


@pytest.fixture
def fakes(road, start_fake) -> dict:
    return {name: road.start(start_fake, name) for name in road.names}


@pytest.fixture
def app_config(redis_url, redis_client, road, fakes, monkeypatch) -> dict:
    setup = road.setup
    accounts = accounts_for(setup, fakes, road.build, monkeypatch)
    return app_config_for(redis_url, accounts, setup["rules"])


def declined_and_leaving(hosted: str) -> str:
    """The customer pays with the declined card on the hosted page; where the browser goes
    back to kadosei (the provider's redirect, or the still-open page's cancel link)."""
    declined = pay_on_the_fake(hosted, DECLINED)
    if declined.status_code == 303:
        return declined.headers["Location"]
    assert declined.status_code == 200 and "class='error'" in declined.text, declined.text
    link = urljoin(hosted, html.unescape(CANCEL_LINK.search(declined.text).group(1)))
    if link.startswith("https://kadosei.test/"):
        return link
    left = requests.get(link, allow_redirects=False, timeout=5)
    assert left.status_code == 303
    return left.headers["Location"]


def test_a_declined_customer_pays_at_the_other_account_on_try_again(
    client, factories, road, fakes, receiver
):
    first, second = road.names
    for name, fake in fakes.items():
        wire(fake, name, client)
    application, user, key = live_key(factories, "test")
    secret = merchant_endpoint(client, factories, application, user, receiver.url)
    session = create_session(client, factories, key)

    hosted = to_hosted_page(client, session)
    assert hosted.startswith(fakes[first].url)
    landing = declined_and_leaving(hosted)
    delivered = fakes[first].deliver_pending()  # the first account's signed notification
    assert delivered and all(n.attempts[-1].status == 200 for n in delivered)
    (declined,) = attempts_of(session)
    assert (declined.provider, declined.status) == (first, "failed")
    assert declined.error_code == "card_declined" and declined.retry_elsewhere is True
    declined_id = declined.id

    # Back at kadosei: its own page says so and offers to try again.
    assert back_at_kadosei(client, landing) == session["checkout_url"]
    page = client.get(path_of(session["checkout_url"]))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "did not go through" in text and "Try again" in text and "Return to the shop" in text
    assert first not in text and "card_declined" not in text
    form = {"csrf_token": field(CSRF, text), "attempt": field(ATTEMPT_FIELD, text)}
    assert form["attempt"] == declined_id
    assert session_row(session).status == "open"

    again = client.post(f"/checkout/{session['id']}/retry", data=form)
    assert again.status_code == 303, again.get_data(as_text=True)
    retried = again.headers["Location"]
    assert retried.startswith(fakes[second].url)
    _, attempt = attempts_of(session)
    assert (attempt.provider, attempt.status) == (second, "pending")
    (passed,) = attempt.explanation["retry"]["passed_over"]
    assert (passed["provider"], passed["cause"]) == (first, "declined")

    paid = pay_on_the_fake(retried, PAYS)
    assert paid.status_code == 303
    delivered = fakes[second].deliver_pending()
    assert delivered and all(n.attempts[-1].status == 200 for n in delivered)
    assert back_at_kadosei(client, paid.headers["Location"]).startswith(
        "https://shop.example/thanks"
    )
    assert session_row(session).status == "succeeded"
    assert [a.status for a in attempts_of(session)] == ["failed", "succeeded"]

    run_jobs(client.application)  # the merchant's webhooks
    payloads = sorted(
        (request.verify(secret) for request in receiver.wait_for(2)),
        key=lambda payload: payload["created_at"],
    )
    assert [p["type"] for p in payloads] == [
        "payment_session.attempt_failed",
        "payment_session.succeeded",
    ]
    assert all(p["data"]["object"]["id"] == session["id"] for p in payloads)
    failed, succeeded = (p["data"]["object"] for p in payloads)
    assert failed["status"] == "open" and failed["last_failure"]["attempt"] == declined_id
    assert failed["last_failure"]["code"] == "card_declined"
    assert succeeded["status"] == "succeeded" and succeeded["attempts_failed"] == 1


# -- the declined checkout when the customer tries again ------------------------------------


def _retried(client, factories, road, fakes, **overrides) -> tuple[dict, str, str, str]:
    """A session declined at the first account, then "Try again" (routed to the second):
    (the session, the declined attempt's id, its hosted page, the new attempt's hosted page)."""
    first, _ = road.names
    for name, fake in fakes.items():
        wire(fake, name, client)
    _, _, key = live_key(factories, "test")
    session = create_session(client, factories, key, **overrides)
    hosted = to_hosted_page(client, session)
    landing = declined_and_leaving(hosted)
    fakes[first].deliver_pending()
    back_at_kadosei(client, landing)
    (declined,) = attempts_of(session)
    text = client.get(path_of(session["checkout_url"])).get_data(as_text=True)
    form = {"csrf_token": field(CSRF, text), "attempt": field(ATTEMPT_FIELD, text)}
    again = client.post(f"/checkout/{session['id']}/retry", data=form)
    assert again.status_code == 303, again.get_data(as_text=True)
    return session, declined.id, hosted, again.headers["Location"]


def _expire_calls(fake) -> list:
    return [r for r in fake.requests_to("POST", "/v1/checkout/sessions/") if "/expire" in r.path]


def test_try_again_ends_the_declined_checkout_where_the_provider_can(
    client, factories, road, fakes
):
    first, second = road.names
    session, declined_id, hosted, retried = _retried(client, factories, road, fakes)
    assert retried.startswith(fakes[second].url)
    asked_before = len(fakes[first].requests)
    if road is ROADS["stripe"]:
        assert _expire_calls(fakes[first]) == []  # the redirect did not wait for it

    run_jobs(client.application)

    causes = [t.cause for t in session_row(session).transitions]
    if road is ROADS["stripe"]:
        (declined,) = [a for a in attempts_of(session) if a.id == declined_id]
        assert fakes[first].sessions[declined.provider_reference]["status"] == "expired"
        assert any(c.startswith(f"ended {first}'s checkout of the declined") for c in causes)
        assert "card_number" not in requests.get(hosted, timeout=5).text  # nothing to pay there
    else:  # Mollie's declined payment is over; Adyen cannot end a session early
        assert len(fakes[first].requests) == asked_before
        assert not any("checkout of the declined" in c for c in causes)
    assert session_row(session).status == "open"
    assert [a.status for a in attempts_of(session)] == ["failed", "pending"]


def test_a_provider_away_does_not_hold_up_the_retry(client, factories, road, fakes):
    if road is not ROADS["stripe"]:
        pytest.skip("only Stripe's declined checkout is ended")
    first, second = road.names
    session, declined_id, _, retried = _retried(client, factories, road, fakes)
    assert retried.startswith(fakes[second].url)
    fakes[first].fail_next(500)

    run_jobs(client.application)  # fails: the queue retries it later
    (declined, _) = attempts_of(session)
    assert fakes[first].sessions[declined.provider_reference]["status"] == "open"

    with client.application.app_context():
        assert end_declined_checkout(session["id"], declined_id) == "ended"  # the retry
    assert fakes[first].sessions[declined.provider_reference]["status"] == "expired"
    assert [a.status for a in attempts_of(session)] == ["failed", "pending"]


def test_a_hold_placed_in_the_declined_checkout_after_the_retry_is_voided(
    client, factories, road, fakes
):
    """The customer pays at the second account (the hold the session uses), then pays again
    in the first account's page, still open in another tab: that hold is voided there."""
    if road is not ROADS["stripe"]:
        pytest.skip("Stripe's declined checkout stays payable")
    first, second = road.names
    session, declined_id, hosted, retried = _retried(
        client, factories, road, fakes, capture_method="manual"
    )
    assert retried.startswith(fakes[second].url)
    assert pay_on_the_fake(retried, PAYS).status_code == 303
    fakes[second].deliver_pending()
    assert session_row(session).status == "requires_capture"

    assert pay_on_the_fake(hosted, PAYS).status_code == 303  # before the job ends it
    fakes[first].deliver_pending()
    declined, used = attempts_of(session)
    assert (declined.status, used.status) == ("unused_hold", "authorized")
    references = (declined.provider_reference, used.provider_reference)

    run_jobs(client.application)

    intent_of = {
        name: fakes[name].payment_intents[fakes[name].sessions[ref]["payment_intent"]]
        for name, ref in zip((first, second), references, strict=True)
    }
    assert intent_of[first]["status"] == "canceled"
    assert intent_of[second]["status"] == "requires_capture"
    stored = session_row(session)
    assert (stored.status, stored.conflict) == ("requires_capture", False)
    voided, _ = attempts_of(session)
    assert (voided.id, voided.status, voided.error_code) == (declined_id, "canceled", "voided")
