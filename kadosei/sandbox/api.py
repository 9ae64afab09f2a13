"""The sandbox PSPs' API, as kadosei's adapters call it: create a payment (and its hosted
page), look one up, expire an unpaid one. In-process function calls standing for HTTP calls,
with the operator's knobs applied like a network would: down refuses, slow answers late or
not within the caller's timeout, an error rate answers 500. Answers are plain values in the
PSP's own words; failures are :class:`ApiError` with the HTTP status the PSP would send.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from flask import current_app

from kadosei.sandbox import payments, refunds
from kadosei.sandbox.knobs import Knobs, disabled_providers, load_knobs
from kadosei.sandbox.models import SandboxPayment, SandboxRefund, new_reference
from kadosei.sandbox.payments import NewPayment
from kadosei.sandbox.psps import Psp, get_psp
from kadosei.sandbox.signing import signing_secret

# What a merchant's integration reads from the PSP's published docs and dashboard: the
# request body, the price list, the notification secret.
__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "NewPayment",
    "Payment",
    "Psp",
    "Refund",
    "TimedOut",
    "Unreachable",
    "capture_payment",
    "create_payment",
    "disabled_psps",
    "expire_payment",
    "get_psp",
    "refund_payment",
    "retrieve_payment",
    "retrieve_refund",
    "signing_secret",
    "void_payment",
]

_system_random = random.Random()


class ApiError(Exception):
    """The call failed; ``status`` is what the PSP's HTTP API would have answered."""

    status = 500


class Unreachable(ApiError):
    """Connection refused: the PSP is down."""

    status = 0


class TimedOut(ApiError):
    """No answer within the caller's timeout."""

    status = 0


class BadRequest(ApiError):
    """The PSP refuses the request as invalid (unsupported, malformed, unknown payment)."""

    status = 400


class Conflict(ApiError):
    """The payment can no longer be expired: the customer paid or is paying."""

    status = 409


def disabled_psps() -> frozenset[str]:
    """The PSPs their operator has switched off (cached per process for at most a second)."""
    return disabled_providers()


@dataclass(frozen=True)
class Payment:
    """The PSP's answer about one payment."""

    id: str
    # pending | processing | authorized | succeeded | failed | canceled | expired (a lapsed
    # checkout is expired here while its recorded status is still pending)
    status: str
    recorded_status: str
    amount: int
    failure_code: str | None
    failure_message: str | None
    hosted_url: str | None = None  # in the answer to create_payment
    amount_captured: int = 0  # what was taken (a manual-capture payment: once captured)


def create_payment(
    psp_name: str,
    new: NewPayment,
    *,
    timeout: float,
    rng: random.Random | None = None,
) -> Payment:
    """``POST /payments``: a pending payment and its hosted page (``hosted_url``)."""
    psp = _psp(psp_name)
    knobs = _answer(psp, timeout)
    if not knobs.enabled:
        raise ApiError(f"{psp.display_name} is disabled by the operator")
    if (rng or _system_random).random() < knobs.error_rate:
        raise ApiError(f"{psp.display_name} answered 500 Internal Server Error")
    if not psp.accepts(new.mode, new.payment_method, new.currency):
        raise BadRequest(
            f"{psp.display_name} does not accept {new.payment_method} in "
            f"{new.currency} ({new.mode} mode)"
        )
    if isinstance(new.amount, bool) or not isinstance(new.amount, int):
        raise BadRequest("amount must be an integer in minor units")
    if new.amount <= 0:
        raise BadRequest("amount must be positive")
    reference = new_reference()
    url = hosted_url(psp.name, reference)
    return _answer_for(payments.create_payment(psp.name, new, reference=reference), url)


def retrieve_payment(psp_name: str, reference: str, *, timeout: float) -> Payment:
    """``GET /payments/<reference>``."""
    psp = _psp(psp_name)
    _answer(psp, timeout)
    return _answer_for(_payment(psp, reference))


def expire_payment(psp_name: str, reference: str, *, timeout: float) -> Payment:
    """``POST /payments/<reference>/expire``: end an unpaid checkout; ``Conflict`` once the
    customer paid or is paying (atomically: never both)."""
    psp = _psp(psp_name)
    _answer(psp, timeout)
    try:
        return _answer_for(payments.expire_payment(_payment(psp, reference)))
    except payments.PaymentUnderWay as exc:
        raise Conflict(str(exc)) from None


def capture_payment(psp_name: str, reference: str, amount: int, *, timeout: float) -> Payment:
    """``POST /payments/<reference>/capture {amount}``: take ``amount`` (at most what is
    held) of an authorised payment, releasing the rest; ``BadRequest`` if nothing is held."""
    psp = _psp(psp_name)
    _answer(psp, timeout)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise BadRequest("amount must be an integer in minor units")
    try:
        return _answer_for(payments.capture_payment(_payment(psp, reference), amount))
    except payments.NotHeld as exc:
        raise BadRequest(str(exc)) from None


def void_payment(psp_name: str, reference: str, *, timeout: float) -> Payment:
    """``POST /payments/<reference>/void``: release an authorisation (``canceled``);
    ``BadRequest`` if nothing is held."""
    psp = _psp(psp_name)
    _answer(psp, timeout)
    try:
        return _answer_for(payments.void_payment(_payment(psp, reference)))
    except payments.NotHeld as exc:
        raise BadRequest(str(exc)) from None


@dataclass(frozen=True)
class Refund:
    """The PSP's answer about one refund: ``pending``, then ``succeeded`` or ``failed``."""

    id: str
    payment_id: str
    merchant_reference: str
    status: str
    amount: int
    failure_code: str | None
    failure_message: str | None


def refund_payment(
    psp_name: str,
    reference: str,
    *,
    amount: int,
    currency: str,
    merchant_reference: str,
    timeout: float,
) -> Refund:
    """``POST /payments/<reference>/refunds``: a pending refund; the same
    ``merchant_reference`` returns the same refund (idempotent)."""
    psp = _psp(psp_name)
    _answer(psp, timeout)
    try:
        refund = refunds.create_refund(psp.name, reference, amount, currency, merchant_reference)
    except refunds.RefundRefused as exc:
        raise BadRequest(f"{psp.display_name}: {exc}") from None
    return _refund_answer(refund)


def retrieve_refund(psp_name: str, refund_reference: str, *, timeout: float) -> Refund:
    """``GET /refunds/<reference>``."""
    psp = _psp(psp_name)
    _answer(psp, timeout)
    refund = refunds.find_refund(psp.name, refund_reference)
    if refund is None:
        raise BadRequest(f"{psp.display_name} has no refund {refund_reference!r}")
    return _refund_answer(refund)


def _refund_answer(refund: SandboxRefund) -> Refund:
    return Refund(
        id=refund.id,
        payment_id=refund.payment_id,
        merchant_reference=refund.merchant_reference,
        status=refund.status,
        amount=refund.amount,
        failure_code=refund.failure_code,
        failure_message=refund.failure_message,
    )


def hosted_url(psp_name: str, reference: str) -> str:
    """The hosted page on ``KADOSEI_PUBLIC_URL``, never on the host a request came to."""
    values = {"provider": psp_name, "reference": reference}
    path = current_app.url_map.bind("localhost").build("sandbox.show_payment", values)
    return current_app.config["KADOSEI_PUBLIC_URL"].rstrip("/") + path


def _psp(name: str) -> Psp:
    psp = get_psp(name)
    if psp is None:
        raise BadRequest(f"No sandbox PSP named {name!r}")
    return psp


def _answer(psp: Psp, timeout: float) -> Knobs:
    """One call as the operator has set the PSP: down refuses, slow waits (up to the
    caller's timeout, then the caller gives up)."""
    knobs = load_knobs(psp.name)
    if knobs.down:
        raise Unreachable(f"{psp.display_name} is unreachable (connection refused)")
    if knobs.slow_ms:
        time.sleep(min(knobs.slow_ms / 1000, timeout))
        if knobs.slow_ms / 1000 > timeout:
            raise TimedOut(f"{psp.display_name} did not answer within {timeout:g} s")
    return knobs


def _payment(psp: Psp, reference: str) -> SandboxPayment:
    payment = payments.find_payment(psp.name, reference)
    if payment is None:
        raise BadRequest(f"{psp.display_name} has no payment {reference!r}")
    return payment


def _answer_for(payment: SandboxPayment, url: str | None = None) -> Payment:
    return Payment(
        id=payment.id,
        status=payments.current_status(payment),
        recorded_status=payment.status,
        amount=payment.amount,
        failure_code=payment.failure_code,
        failure_message=payment.failure_message,
        hosted_url=url,
        amount_captured=payment.amount_captured or 0,
    )
