"""Pytest fixtures that start each fake PSP on a free loopback port and stop it afterwards.

Expose the ones a test folder needs in its conftest.py::

    from tests.fakes import fixtures as fake_psps

    stripe_api = fake_psps.stripe_api
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from tests.fakes.adyen_checkout import AdyenCheckoutFake
from tests.fakes.loopback import LoopbackServer, NotificationSink
from tests.fakes.mollie_api import MollieApiFake
from tests.fakes.stripe_api import StripeApiFake

Fake = TypeVar("Fake", bound=LoopbackServer)


@pytest.fixture
def stripe_api() -> Iterator[StripeApiFake]:
    """A running fake Stripe; ``.url`` is its api_base, ``.secret_key``/``.webhook_secret``."""
    with StripeApiFake() as fake:
        yield fake


@pytest.fixture
def mollie_api() -> Iterator[MollieApiFake]:
    """A running fake Mollie; ``.url`` is its api endpoint, ``.api_key`` a ``test_`` key."""
    with MollieApiFake() as fake:
        yield fake


@pytest.fixture
def adyen_checkout() -> Iterator[AdyenCheckoutFake]:
    """A running fake Adyen Checkout; ``.api_base`` (with /v72), ``.api_key``,
    ``.merchant_account``, ``.hmac_key``."""
    with AdyenCheckoutFake() as fake:
        yield fake


@pytest.fixture
def notification_sink() -> Iterator[NotificationSink]:
    """A bare HTTP endpoint that keeps what the fakes send it (``.endpoint``, ``.received``)."""
    with NotificationSink() as sink:
        yield sink


@pytest.fixture
def start_fake() -> Iterator[Callable[..., Any]]:
    """Start more fakes than one (e.g. ``stripe_eu`` and ``stripe_us`` for failover):
    ``start_fake(StripeApiFake)``; each is stopped after the test."""
    started: list[LoopbackServer] = []

    def start(kind: type[Fake], **options: Any) -> Fake:
        fake = kind(**options).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()
