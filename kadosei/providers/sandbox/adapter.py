"""What kadosei's three sandbox adapters share: calls to the sandbox PSPs' API
(:mod:`kadosei.sandbox.api`, in-process function calls standing for HTTP) with the adapter's
timeout, its answers and errors mapped to the provider interface, and the capability table
read from the PSP's price list. Each adapter adds its PSP's notification verification."""

from __future__ import annotations

import dataclasses
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
    Decline,
    Fee,
    InvalidNotification,
    NotificationFacts,
    PaymentStatus,
    PaymentUnderWay,
    Provider,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
    RefundRequest,
    RefundStatus,
)
from kadosei.sandbox import api

# The sandbox PSPs' decline codes (kadosei.sandbox.cards, .payments) in kadosei's words.
# retry_elsewhere: another provider may succeed (a generic refusal by this PSP); the issuer's
# or the customer's own refusal would follow the customer to any provider.
DECLINES: dict[str, Decline] = {
    "card_declined": Decline("card_declined", True, "The card was declined."),
    "insufficient_funds": Decline("insufficient_funds", False, "The card has insufficient funds."),
    "payment_declined": Decline(
        "payment_declined", False, "The customer did not authorize the payment."
    ),
}
UNKNOWN_DECLINE = Decline("payment_failed", True, "The payment failed.")


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
            capture_method=request.capture_method,
        )
        with _mapped_errors():
            payment = api.create_payment(self.name, new, timeout=_timeout(), rng=self.rng)
        return CheckoutResult(provider_reference=payment.id, hosted_url=payment.hosted_url)

    def get_status(self, provider_reference: str) -> PaymentStatus:
        with _mapped_errors():
            return classified(
                _status_of(api.retrieve_payment(self.name, provider_reference, timeout=_timeout()))
            )

    def expire_checkout(self, provider_reference: str) -> PaymentStatus:
        with _mapped_errors():
            return classified(
                _status_of(api.expire_payment(self.name, provider_reference, timeout=_timeout()))
            )

    def decline_table(self) -> Mapping[str, Decline]:
        return DECLINES

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        return [classified(self.parse_notification(body, headers))]

    def capture(
        self, provider_reference: str, amount: int, currency: str, *, idempotency_key: str
    ) -> PaymentStatus:
        with _mapped_errors():
            return _status_of(
                api.capture_payment(self.name, provider_reference, amount, timeout=_timeout())
            )

    def void(self, provider_reference: str, *, idempotency_key: str) -> PaymentStatus:
        with _mapped_errors():
            return _status_of(api.void_payment(self.name, provider_reference, timeout=_timeout()))

    def refund(self, request: RefundRequest) -> RefundStatus:
        """Pending at first; the PSP settles it a few seconds later and notifies."""
        with _mapped_errors():
            refund = api.refund_payment(
                self.name,
                request.provider_reference,
                amount=request.amount,
                currency=request.currency,
                merchant_reference=request.refund_id,
                timeout=_timeout(),
            )
        return _refund_status_of(refund)

    def get_refund(self, provider_reference: str, provider_refund_reference: str) -> RefundStatus:
        with _mapped_errors():
            return _refund_status_of(
                api.retrieve_refund(self.name, provider_refund_reference, timeout=_timeout())
            )

    # -- provider → kadosei: each provider's own scheme ----------------------------------

    @abstractmethod
    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus: ...


def classified(status: PaymentStatus) -> PaymentStatus:
    """A failed payment marked from the decline table: may another provider succeed?"""
    if status.status != "failed":
        return status
    decline = DECLINES.get(status.failure_code or "", UNKNOWN_DECLINE)
    return dataclasses.replace(status, retry_elsewhere=decline.retry_elsewhere)


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
        amount_captured=payment.amount_captured if payment.status == "succeeded" else None,
    )


def _refund_status_of(refund: api.Refund) -> RefundStatus:
    return RefundStatus(
        provider_refund_reference=refund.id,
        status=refund.status,
        provider_reference=refund.payment_id,
        refund_id=refund.merchant_reference,
        failure_code=refund.failure_code,
        failure_message=refund.failure_message,
        raw={"id": refund.id, "status": refund.status, "amount": refund.amount},
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
