"""The fakes' own tests drive each one with the provider's real SDK, pointed at it."""

from __future__ import annotations

import Adyen
import pytest
import stripe
from mollie.api.client import Client as MollieClient

from tests.fakes import fixtures as fake_psps

stripe_api = fake_psps.stripe_api
mollie_api = fake_psps.mollie_api
adyen_checkout = fake_psps.adyen_checkout
notification_sink = fake_psps.notification_sink
start_fake = fake_psps.start_fake

SDK_TIMEOUT = 1.0


@pytest.fixture
def stripe_client(stripe_api) -> stripe.StripeClient:
    return stripe.StripeClient(
        stripe_api.secret_key,
        base_addresses={"api": stripe_api.url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=SDK_TIMEOUT),
    )


@pytest.fixture
def mollie_client(mollie_api) -> MollieClient:
    client = MollieClient(api_endpoint=mollie_api.url, timeout=SDK_TIMEOUT, retry=0)
    client.set_api_key(mollie_api.api_key)
    return client


@pytest.fixture
def adyen_client(adyen_checkout) -> Adyen.Adyen:
    client = Adyen.Adyen(xapikey=adyen_checkout.api_key, platform="test", http_timeout=SDK_TIMEOUT)
    client.checkout.payments_api.baseUrl = adyen_checkout.api_base
    client.checkout.modifications_api.baseUrl = adyen_checkout.api_base
    return client
