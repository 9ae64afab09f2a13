"""kadosei's adapter for Orbit, a wallet-first sandbox PSP (cards in the major currencies,
PayPal and SEPA Direct Debit). Its notifications carry ``X-Orbit-Signature``: the base64
HMAC-SHA512 of the raw body, whose ``sent_at`` (unix seconds) must be fresh."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping

from kadosei.providers.base import (
    InvalidNotification,
    NotificationFacts,
    PaymentStatus,
    RefundStatus,
)
from kadosei.providers.sandbox.adapter import SandboxProvider, load_json_object
from kadosei.providers.sandbox.signing import (
    ascii_header,
    check_fresh,
    hmac_digest,
    text_or_none,
)

SIGNATURE_HEADER = "X-Orbit-Signature"
# Orbit's own words for a payment's state.
STATES = {
    "pending": "CREATED",
    "processing": "PENDING",
    "authorized": "AUTHORIZED",
    "succeeded": "CAPTURED",
    "failed": "DECLINED",
    "canceled": "CANCELLED",
    "expired": "EXPIRED",
}
STATUS_OF_STATE = {state: status for status, state in STATES.items()}
REFUND_STATES = {"REFUND_PENDING": "pending", "REFUNDED": "succeeded", "REFUND_FAILED": "failed"}


class OrbitProvider(SandboxProvider):
    name = "sandbox_orbit"

    def signature(self, body: bytes) -> str:
        return base64.b64encode(hmac_digest(self.name, body, "sha512")).decode()

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        """A ``payment_state_changed`` or a ``refund_state_changed`` message."""
        message = self._verified_message(body, headers)
        if message.get("event_type") == "refund_state_changed":
            return [_refund_fact(message.get("refund"))]
        return [self.parse_notification(body, headers)]

    def _verified_message(self, body: bytes, headers: Mapping[str, str]) -> dict:
        received = ascii_header(headers, SIGNATURE_HEADER)
        if not hmac.compare_digest(self.signature(body).encode(), received.encode()):
            raise InvalidNotification(f"The {SIGNATURE_HEADER} does not match the body")
        message = load_json_object(body)
        sent_at = message.get("sent_at")
        if isinstance(sent_at, bool) or not isinstance(sent_at, int):
            raise InvalidNotification("The notification has no sent_at time")
        check_fresh(sent_at)
        return message

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        message = self._verified_message(body, headers)
        payment = message.get("payment")
        if (
            not isinstance(payment, dict)
            or not isinstance(payment.get("reference"), str)
            or not isinstance(payment.get("state"), str)
            or payment["state"] not in STATUS_OF_STATE
        ):
            raise InvalidNotification("The notification carries no payment state")
        return PaymentStatus(
            provider_reference=payment["reference"],
            status=STATUS_OF_STATE[payment["state"]],
            failure_code=text_or_none(payment.get("decline_code")),
            failure_message=text_or_none(payment.get("decline_reason")),
            raw=payment,
            amount_captured=_captured(payment),
        )


def _captured(payment: dict) -> int | None:
    """What a captured payment took (``captured_amount``), when Orbit says."""
    value = payment.get("captured_amount")
    if payment.get("state") != "CAPTURED" or isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value > 0 else None


def _refund_fact(refund: object) -> RefundStatus:
    if (
        not isinstance(refund, dict)
        or not isinstance(refund.get("reference"), str)
        or not isinstance(refund.get("state"), str)
        or refund["state"] not in REFUND_STATES
    ):
        raise InvalidNotification("The notification carries no refund state")
    return RefundStatus(
        provider_refund_reference=refund["reference"],
        status=REFUND_STATES[refund["state"]],
        provider_reference=text_or_none(refund.get("payment_reference")),
        refund_id=text_or_none(refund.get("merchant_reference")),
        failure_code=text_or_none(refund.get("decline_code")),
        failure_message=text_or_none(refund.get("decline_reason")),
        raw=refund,
    )
