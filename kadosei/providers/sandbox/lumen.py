"""kadosei's adapter for Lumen, a Stripe-like sandbox PSP (cards in every currency, the
European bank methods and Klarna). Its notifications are events signed in a
``Lumen-Signature: t=<unix>,v1=<hex>`` header, an HMAC-SHA256 of ``"<t>.<body>"``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from kadosei.providers.base import PROVIDER_STATUSES, InvalidNotification, PaymentStatus
from kadosei.providers.sandbox.adapter import SandboxProvider, load_json_object
from kadosei.providers.sandbox.signing import check_fresh, header, hmac_digest

SIGNATURE_HEADER = "Lumen-Signature"


class LumenProvider(SandboxProvider):
    name = "sandbox_lumen"

    def signature_header(self, body: bytes, timestamp: int) -> str:
        digest = hmac_digest(self.name, f"{timestamp}.".encode() + body).hex()
        return f"t={timestamp},v1={digest}"

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        timestamp, signatures = _parse_signature_header(header(headers, SIGNATURE_HEADER))
        expected = hmac_digest(self.name, f"{timestamp}.".encode() + body).hex()
        if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            raise InvalidNotification("The Lumen-Signature does not match the body")
        check_fresh(timestamp)
        data = load_json_object(body).get("data")
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
            failure_code=payment.get("failure_code"),
            failure_message=payment.get("failure_message"),
            raw=payment,
        )


def _parse_signature_header(value: str | None) -> tuple[int, list[str]]:
    """``t=…,v1=…[,v1=…]`` → (timestamp, v1 signatures); several during a secret roll."""
    if not value:
        raise InvalidNotification(f"The {SIGNATURE_HEADER} header is missing")
    timestamp, signatures = None, []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t" and item.isdigit():
            timestamp = int(item)
        elif key == "v1":
            signatures.append(item)
    if timestamp is None or not signatures:
        raise InvalidNotification(f"The {SIGNATURE_HEADER} header is malformed")
    return timestamp, signatures
