"""What the three sandbox providers share: their in-process "API" (create, status, expire)
with the operator's knobs applied, and the hosted page's address. Each provider adds its
capability table and its own notification signature scheme."""

from __future__ import annotations

import random
import time
from abc import abstractmethod
from collections.abc import Mapping

from flask import current_app, has_request_context, url_for

from kadosei import bounded_json
from kadosei.models.sandbox import SandboxPayment
from kadosei.providers.base import (
    CheckoutRequest,
    CheckoutResult,
    InvalidNotification,
    PaymentStatus,
    Provider,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
)
from kadosei.providers.sandbox import psp
from kadosei.providers.sandbox.knobs import Knobs, load_knobs

DEFAULT_TIMEOUT_SECONDS = 3.0
TEST_MODE_ONLY = frozenset({"test"})


class SandboxProvider(Provider):
    """A built-in test-mode PSP whose API is a function call and whose back office is
    :mod:`kadosei.providers.sandbox.psp`."""

    name: str
    display_name: str
    tagline: str

    def __init__(self, rng: random.Random | None = None) -> None:
        # Decides the error-rate and success-rate knobs; tests pass a seeded one.
        self.rng = rng or random.Random()

    # -- kadosei → provider -------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> CheckoutResult:
        knobs = self._call_api()
        if not knobs.enabled:
            raise ProviderError(f"{self.display_name} is disabled by the operator")
        if self.rng.random() < knobs.error_rate:
            raise ProviderError(f"{self.display_name} answered 500 Internal Server Error")
        if not self.supports(request.mode, request.payment_method, request.currency):
            raise ProviderBadRequest(
                f"{self.display_name} does not accept {request.payment_method} in "
                f"{request.currency} ({request.mode} mode)"
            )
        if isinstance(request.amount, bool) or not isinstance(request.amount, int):
            raise ProviderBadRequest("amount must be an integer in minor units")
        if request.amount <= 0:
            raise ProviderBadRequest("amount must be positive")
        payment = psp.create_payment(self.name, request)
        return CheckoutResult(provider_reference=payment.id, hosted_url=self.hosted_url(payment))

    def get_status(self, provider_reference: str) -> PaymentStatus:
        self._call_api()
        return self._status_of(self._payment(provider_reference))

    def expire_checkout(self, provider_reference: str) -> PaymentStatus:
        self._call_api()
        payment = psp.expire_payment(self._payment(provider_reference))
        return self._status_of(payment)

    # -- provider → kadosei: each provider's own scheme ----------------------------------

    @abstractmethod
    def build_notification(self, payment: SandboxPayment) -> tuple[bytes, dict[str, str]]:
        """The signed notification (body, headers) this provider sends about ``payment``."""

    @abstractmethod
    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus: ...

    # -- shared pieces ------------------------------------------------------------------

    def hosted_url(self, payment: SandboxPayment) -> str:
        values = {"provider": self.name, "reference": payment.id}
        public = current_app.config.get("KADOSEI_PUBLIC_URL")
        if public:
            path = current_app.url_map.bind("localhost").build("sandbox.show_payment", values)
            return public + path
        if has_request_context():
            return url_for("sandbox.show_payment", _external=True, **values)
        raise ProviderError("KADOSEI_PUBLIC_URL is needed to build a hosted page URL here")

    def _call_api(self) -> Knobs:
        """One call to the provider's API as the operator has set it: down refuses, slow
        waits (up to the adapter's timeout, then gives up)."""
        knobs = load_knobs(self.name)
        if knobs.down:
            raise ProviderError(f"{self.display_name} is unreachable (connection refused)")
        if knobs.slow_ms:
            timeout = float(
                current_app.config.get("SANDBOX_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)
            )
            time.sleep(min(knobs.slow_ms / 1000, timeout))
            if knobs.slow_ms / 1000 > timeout:
                raise ProviderTimeout(f"{self.display_name} did not answer within {timeout:g} s")
        return knobs

    def _payment(self, provider_reference: str) -> SandboxPayment:
        payment = psp.find_payment(self.name, provider_reference)
        if payment is None:
            raise ProviderBadRequest(f"{self.display_name} has no payment {provider_reference!r}")
        return payment

    def _status_of(self, payment: SandboxPayment) -> PaymentStatus:
        return PaymentStatus(
            provider_reference=payment.id,
            status=psp.current_status(payment),
            failure_code=payment.failure_code,
            failure_message=payment.failure_message,
            raw={"id": payment.id, "status": payment.status, "amount": payment.amount},
        )


def load_json_object(body: bytes) -> dict:
    """The notification body as a JSON object of storable text within ``bounded_json``'s
    limits, or ``InvalidNotification``."""
    try:
        payload = bounded_json.load(body)
    except bounded_json.RefusedJson as exc:
        raise InvalidNotification(f"The notification body {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidNotification("The notification body is not a JSON object")
    if bounded_json.holds_unstorable(payload):
        raise InvalidNotification("The notification body holds NUL characters or surrogates")
    return payload
