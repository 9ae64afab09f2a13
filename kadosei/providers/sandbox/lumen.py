"""kadosei's adapter for Lumen, a Stripe-like sandbox PSP (cards in every currency, the
European bank methods and Klarna). Its notifications are events signed in a
``Lumen-Signature: t=<unix>,v1=<hex>`` header, an HMAC-SHA256 of ``"<t>.<body>"``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from kadosei.providers.base import (
    PROVIDER_STATUSES,
    REFUND_STATUSES,
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

SIGNATURE_HEADER = "Lumen-Signature"
# Unix seconds have ten digits until the year 2286; a longer "timestamp" is not one.
MAX_TIMESTAMP_DIGITS = 12


class LumenProvider(SandboxProvider):
    name = "sandbox_lumen"

    def signature_header(self, body: bytes, timestamp: int) -> str:
        digest = hmac_digest(self.name, f"{timestamp}.".encode() + body).hex()
        return f"t={timestamp},v1={digest}"

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        """A payment event, or a ``refund.*`` event whose object is a refund."""
        data = self._verified_event(body, headers).get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        if isinstance(obj, dict) and obj.get("object") == "refund":
            return [_refund_fact(obj)]
        return [self.parse_notification(body, headers)]

    def _verified_event(self, body: bytes, headers: Mapping[str, str]) -> dict:
        timestamp, signatures = _parse_signature_header(ascii_header(headers, SIGNATURE_HEADER))
        expected = hmac_digest(self.name, f"{timestamp}.".encode() + body).hex()
        if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            raise InvalidNotification("The Lumen-Signature does not match the body")
        check_fresh(timestamp)
        return load_json_object(body)

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        data = self._verified_event(body, headers).get("data")
        payment = data.get("object") if isinstance(data, dict) else None
        if (
            not isinstance(payment, dict)
            or not isinstance(payment.get("id"), str)
            or payment.get("status") not in PROVIDER_STATUSES
        ):
            raise InvalidNotification("The event carries no payment status")
        return PaymentStatus(
            provider_reference=payment["id"],
            status=payment["status"],
            failure_code=text_or_none(payment.get("failure_code")),
            failure_message=text_or_none(payment.get("failure_message")),
            raw=payment,
            amount_captured=_captured(payment),
        )


def _captured(payment: dict) -> int | None:
    """What a succeeded payment took (``amount_captured``), when Lumen says."""
    value = payment.get("amount_captured")
    if (
        payment.get("status") != "succeeded"
        or isinstance(value, bool)
        or not isinstance(value, int)
    ):
        return None
    return value if value > 0 else None


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


def _refund_fact(refund: dict) -> RefundStatus:
    metadata = refund.get("metadata")
    if (
        not isinstance(refund.get("id"), str)
        or refund.get("status") not in REFUND_STATUSES
        or not isinstance(metadata, dict)
    ):
        raise InvalidNotification("The event carries no refund status")
    return RefundStatus(
        provider_refund_reference=refund["id"],
        status=refund["status"],
        provider_reference=text_or_none(refund.get("payment")),
        refund_id=text_or_none(metadata.get("refund_id")),
        failure_code=text_or_none(refund.get("failure_code")),
        failure_message=text_or_none(refund.get("failure_message")),
        raw=refund,
    )
