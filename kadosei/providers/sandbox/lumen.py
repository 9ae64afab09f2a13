"""Lumen: a Stripe-like sandbox PSP. Cards in every currency, the European bank methods and
Klarna. Notifications are events signed in a ``Lumen-Signature: t=<unix>,v1=<hex>`` header,
an HMAC-SHA256 of ``"<t>.<body>"``."""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Mapping

from kadosei.models.sandbox import SANDBOX_PAYMENT_STATUSES, SandboxPayment
from kadosei.providers.base import Capabilities, Fee, InvalidNotification, PaymentStatus
from kadosei.providers.sandbox.adapter import TEST_MODE_ONLY, SandboxProvider, load_json_object
from kadosei.providers.sandbox.signing import (
    ascii_header,
    check_fresh,
    hmac_digest,
    text_or_none,
)

SIGNATURE_HEADER = "Lumen-Signature"
# Unix seconds have ten digits until the year 2286; a longer "timestamp" is not one.
MAX_TIMESTAMP_DIGITS = 12
EUR = frozenset({"EUR"})
KLARNA_CURRENCIES = frozenset(
    {"AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "NOK", "NZD", "PLN", "RON", "SEK", "USD"}
)

CAPABILITIES = Capabilities(
    modes=TEST_MODE_ONLY,
    methods=frozenset({"card", "ideal", "bancontact", "sepa_debit", "klarna"}),
    currencies=None,  # card: every ISO 4217 currency
    fees={
        "card": Fee(1.5, 25),
        "ideal": Fee(0.0, 29),
        "bancontact": Fee(1.4, 25),
        "sepa_debit": Fee(0.0, 35),
        "klarna": Fee(2.99, 35),
    },
    method_currencies={
        "ideal": EUR,
        "bancontact": EUR,
        "sepa_debit": EUR,
        "klarna": KLARNA_CURRENCIES,
    },
)


class LumenProvider(SandboxProvider):
    name = "sandbox_lumen"
    display_name = "Lumen"
    tagline = "Cards in every currency, Europe's bank methods and Klarna."

    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def build_notification(self, payment: SandboxPayment) -> tuple[bytes, dict[str, str]]:
        event = {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "type": f"payment.{payment.status}",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": payment.id,
                    "object": "payment",
                    "status": payment.status,
                    "amount": payment.amount,
                    "currency": payment.currency.lower(),
                    "failure_code": payment.failure_code,
                    "failure_message": payment.failure_message,
                    "metadata": {"attempt_id": payment.attempt_id},
                }
            },
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, {SIGNATURE_HEADER: self.signature_header(body, event["created"])}

    def signature_header(self, body: bytes, timestamp: int) -> str:
        digest = hmac_digest(self.name, f"{timestamp}.".encode() + body).hex()
        return f"t={timestamp},v1={digest}"

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        timestamp, signatures = _parse_signature_header(ascii_header(headers, SIGNATURE_HEADER))
        expected = hmac_digest(self.name, f"{timestamp}.".encode() + body).hex()
        if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            raise InvalidNotification("The Lumen-Signature does not match the body")
        check_fresh(timestamp)
        data = load_json_object(body).get("data")
        payment = data.get("object") if isinstance(data, dict) else None
        if (
            not isinstance(payment, dict)
            or not isinstance(payment.get("id"), str)
            or payment.get("status") not in SANDBOX_PAYMENT_STATUSES
        ):
            raise InvalidNotification("The event carries no payment status")
        return PaymentStatus(
            provider_reference=payment["id"],
            status=payment["status"],
            failure_code=text_or_none(payment.get("failure_code")),
            failure_message=text_or_none(payment.get("failure_message")),
            raw=payment,
        )


def _parse_signature_header(value: str) -> tuple[int, list[str]]:
    """``t=…,v1=…[,v1=…]`` → (timestamp, v1 signatures); several during a secret roll.
    ``value`` is printable ASCII (``ascii_header``); a timestamp is at most
    ``MAX_TIMESTAMP_DIGITS`` digits, so it converts and compares with the clock."""
    timestamp, signatures = None, []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t" and item.isdigit() and len(item) <= MAX_TIMESTAMP_DIGITS:
            timestamp = int(item)
        elif key == "v1":
            signatures.append(item)
    if timestamp is None or not signatures:
        raise InvalidNotification(f"The {SIGNATURE_HEADER} header is malformed")
    return timestamp, signatures
