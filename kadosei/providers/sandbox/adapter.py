"""What kadosei's three sandbox adapters share: calls to the sandbox PSPs' API
(:mod:`kadosei.sandbox.api`, in-process function calls standing for HTTP) with the adapter's
timeout, its answers and errors mapped to the provider interface, and the capability table
read from the PSP's price list. Each adapter adds its PSP's notification verification."""

from __future__ import annotations

import random
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from flask import current_app

from kadosei import bounded_json
from kadosei.providers.base import (
    Capabilities,
    CheckoutRequest,
    CheckoutResult,
    Fee,
    InvalidNotification,
    PaymentStatus,
    PaymentUnderWay,
    Provider,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
)
from kadosei.sandbox import api


class SandboxProvider(Provider):
    """The adapter for one built-in sandbox PSP."""

    name: str

    def __init__(self, rng: random.Random | None = None) -> None:
        # Handed to the sandbox's API, whose error-rate knob it decides; tests pass a seeded one.
        self.rng = rng or random.Random()
        self.psp: api.Psp = api.get_psp(self.name)
        self.display_name = self.psp.display_name
        self._capabilities = capabilities_of(self.psp)

    def capabilities(self) -> Capabilities:
        return self._capabilities

    # -- kadosei → provider -------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> CheckoutResult:
        new = api.NewPayment(
            attempt_id=request.attempt_id,
            session_id=request.session_id,
            mode=request.mode,
            amount=request.amount,
            currency=request.currency,
            payment_method=request.payment_method,
            return_url=request.return_url,
            description=request.description,
            brand_name=request.shop_name,
            expires_at=request.expires_at,
        )
        with _mapped_errors():
            payment = api.create_payment(self.name, new, timeout=_timeout(), rng=self.rng)
        return CheckoutResult(provider_reference=payment.id, hosted_url=payment.hosted_url)

    def get_status(self, provider_reference: str) -> PaymentStatus:
        with _mapped_errors():
            return _status_of(
                api.retrieve_payment(self.name, provider_reference, timeout=_timeout())
            )

    def expire_checkout(self, provider_reference: str) -> PaymentStatus:
        with _mapped_errors():
            return _status_of(api.expire_payment(self.name, provider_reference, timeout=_timeout()))

    # -- provider → kadosei: each provider's own scheme ----------------------------------

    @abstractmethod
    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus: ...


def capabilities_of(psp: api.Psp) -> Capabilities:
    """The PSP's price list in kadosei's terms."""
    return Capabilities(
        modes=psp.modes,
        methods=psp.methods,
        currencies=psp.currencies,
        fees={method: Fee(p.percent, p.fixed_eur_cents) for method, p in psp.prices.items()},
        method_currencies=dict(psp.method_currencies),
    )


def disabled_sandbox_providers() -> frozenset[str]:
    """The sandbox PSPs their operator has disabled (not offered to routing)."""
    return api.disabled_psps()


def _timeout() -> float:
    return float(current_app.config["SANDBOX_TIMEOUT_SECONDS"])


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """The sandbox API's failures as the provider interface's exceptions."""
    try:
        yield
    except api.Conflict as exc:
        raise PaymentUnderWay(str(exc)) from None
    except api.BadRequest as exc:
        raise ProviderBadRequest(str(exc)) from None
    except api.TimedOut as exc:
        raise ProviderTimeout(str(exc)) from None
    except api.ApiError as exc:
        raise ProviderError(str(exc)) from None


def _status_of(payment: api.Payment) -> PaymentStatus:
    return PaymentStatus(
        provider_reference=payment.id,
        status=payment.status,
        failure_code=payment.failure_code,
        failure_message=payment.failure_message,
        raw={"id": payment.id, "status": payment.recorded_status, "amount": payment.amount},
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
