"""Orbit: a wallet-first sandbox PSP. Cards in the major currencies, PayPal and SEPA Direct
Debit. Notifications carry ``X-Orbit-Signature``: the base64 HMAC-SHA512 of the raw body,
whose ``sent_at`` (unix seconds) must be fresh."""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Mapping

from kadosei.models.sandbox import SandboxPayment
from kadosei.providers.base import Capabilities, Fee, InvalidNotification, PaymentStatus
from kadosei.providers.sandbox.adapter import TEST_MODE_ONLY, SandboxProvider, load_json_object
from kadosei.providers.sandbox.signing import (
    ascii_header,
    check_fresh,
    hmac_digest,
    text_or_none,
)

SIGNATURE_HEADER = "X-Orbit-Signature"
CARD_CURRENCIES = frozenset(
    {"AED", "AUD", "BHD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "JPY", "KWD"}
    | {"NOK", "NZD", "PLN", "SAR", "SEK", "SGD", "USD", "ZAR"}
)
PAYPAL_CURRENCIES = frozenset(
    {"AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS"}
    | {"JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD"}
)

CAPABILITIES = Capabilities(
    modes=TEST_MODE_ONLY,
    methods=frozenset({"card", "paypal", "sepa_debit"}),
    currencies=CARD_CURRENCIES,
    fees={
        "card": Fee(0.95, 20),
        "paypal": Fee(2.49, 35),
        "sepa_debit": Fee(0.0, 20),
    },
    method_currencies={"paypal": PAYPAL_CURRENCIES, "sepa_debit": frozenset({"EUR"})},
)

# Orbit's own words for a payment's state.
STATES = {
    "pending": "CREATED",
    "processing": "PENDING",
    "succeeded": "CAPTURED",
    "failed": "DECLINED",
    "canceled": "CANCELLED",
    "expired": "EXPIRED",
}
STATUS_OF_STATE = {state: status for status, state in STATES.items()}


class OrbitProvider(SandboxProvider):
    name = "sandbox_orbit"
    display_name = "Orbit"
    tagline = "Cards in the major currencies, PayPal and SEPA Direct Debit."

    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def build_notification(self, payment: SandboxPayment) -> tuple[bytes, dict[str, str]]:
        message = {
            "event_type": "payment_state_changed",
            "sent_at": int(time.time()),
            "payment": {
                "reference": payment.id,
                "order_id": payment.attempt_id,
                "state": STATES[payment.status],
                "amount": {"value": payment.amount, "currency": payment.currency},
                "decline_code": payment.failure_code,
                "decline_reason": payment.failure_message,
            },
        }
        body = json.dumps(message, separators=(",", ":")).encode()
        return body, {SIGNATURE_HEADER: self.signature(body)}

    def signature(self, body: bytes) -> str:
        return base64.b64encode(hmac_digest(self.name, body, "sha512")).decode()

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        received = ascii_header(headers, SIGNATURE_HEADER)
        if not hmac.compare_digest(self.signature(body).encode(), received.encode()):
            raise InvalidNotification(f"The {SIGNATURE_HEADER} does not match the body")
        message = load_json_object(body)
        sent_at = message.get("sent_at")
        if isinstance(sent_at, bool) or not isinstance(sent_at, int):
            raise InvalidNotification("The notification has no sent_at time")
        check_fresh(sent_at)
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
        )
