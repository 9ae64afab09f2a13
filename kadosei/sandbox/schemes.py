"""What each sandbox PSP sends about a payment, in its own shape and signature scheme:

- Lumen (Stripe-like): an event signed in ``Lumen-Signature: t=<unix>,v1=<hex>``, the
  HMAC-SHA256 of ``"<t>.<body>"``.
- Harbor (Adyen-like): ``notificationItems`` whose item carries ``additionalData.hmacSignature``,
  the base64 HMAC-SHA256 of its key fields joined by ``:`` (unlike Adyen, ``eventDate`` and
  ``reason`` are signed too: a replay goes stale and a failure's reason cannot be rewritten).
- Orbit (wallet-first): ``X-Orbit-Signature``, the base64 HMAC-SHA512 of the raw body, whose
  ``sent_at`` (unix seconds) the receiver checks for freshness.

kadosei's adapters (``kadosei/providers/sandbox/``) verify these as a merchant's integration
verifies a real PSP's: from the published scheme, not from this code.

Refunds are announced in the same schemes: Lumen a ``refund.succeeded`` / ``refund.failed``
event whose object is the refund; Harbor a ``REFUND`` item (``pspReference`` the refund,
``originalReference`` the payment, ``merchantReference`` the merchant's refund id); Orbit a
``refund_state_changed`` message (``REFUNDED`` / ``REFUND_FAILED``).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from kadosei.sandbox.models import SandboxPayment, SandboxRefund
from kadosei.sandbox.signing import sign

Notification = tuple[bytes, dict[str, str]]

LUMEN_SIGNATURE_HEADER = "Lumen-Signature"
ORBIT_SIGNATURE_HEADER = "X-Orbit-Signature"
HARBOR_MERCHANT_ACCOUNT = "KadoseiSandbox"
# Harbor's event codes: (eventCode, success) for each status it reports.
HARBOR_EVENTS = {
    "processing": ("PENDING", "true"),
    "authorized": ("AUTHORISATION", "true"),  # with additionalData.captureMode "manual"
    "succeeded": ("AUTHORISATION", "true"),
    "failed": ("AUTHORISATION", "false"),
    "canceled": ("CANCELLATION", "true"),
    "expired": ("OFFER_CLOSED", "true"),
}
# A manual-capture payment's capture, as Adyen reports it.
HARBOR_CAPTURE_EVENT = ("CAPTURE", "true")
HARBOR_SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
)
# Orbit's own words for a payment's state.
ORBIT_STATES = {
    "pending": "CREATED",
    "processing": "PENDING",
    "authorized": "AUTHORIZED",
    "succeeded": "CAPTURED",
    "failed": "DECLINED",
    "canceled": "CANCELLED",
    "expired": "EXPIRED",
}


def build_notification(payment: SandboxPayment) -> Notification:
    """The signed notification (body, headers) the payment's PSP sends about it now."""
    return _BUILDERS[payment.provider](payment)


def build_refund_notification(refund: SandboxRefund) -> Notification:
    """The signed notification the refund's PSP sends about it now (its own shape: a
    ``refund.*`` event, a ``REFUND`` item, a ``refund_state_changed`` message)."""
    return _REFUND_BUILDERS[refund.provider](refund)


# -- Lumen ------------------------------------------------------------------------------


def lumen_notification(payment: SandboxPayment) -> Notification:
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
                "amount_captured": payment.amount_captured or 0,
                "metadata": {"attempt_id": payment.attempt_id},
            }
        },
    }
    body = json.dumps(event, separators=(",", ":")).encode()
    return body, {LUMEN_SIGNATURE_HEADER: lumen_signature_header(body, event["created"])}


def lumen_signature_header(body: bytes, timestamp: int) -> str:
    digest = sign("sandbox_lumen", f"{timestamp}.".encode() + body).hex()
    return f"t={timestamp},v1={digest}"


# -- Harbor -----------------------------------------------------------------------------


def harbor_notification(payment: SandboxPayment) -> Notification:
    if payment.status not in HARBOR_EVENTS:
        raise ValueError(f"Harbor sends no notification for a {payment.status} payment")
    event_code, success = HARBOR_EVENTS[payment.status]
    # Only a manual-capture payment is ever held (``authorized``).
    manual = payment.capture_method == "manual" or payment.status == "authorized"
    value = payment.amount
    if manual and payment.status == "succeeded":
        (event_code, success), value = HARBOR_CAPTURE_EVENT, payment.amount_captured
    item = {
        "pspReference": payment.id,
        "originalReference": payment.id if event_code == "CAPTURE" else "",
        "merchantAccountCode": HARBOR_MERCHANT_ACCOUNT,
        "merchantReference": payment.attempt_id,
        "amount": {"value": value, "currency": payment.currency},
        "eventCode": event_code,
        "success": success,
        "eventDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": _harbor_reason(payment),
    }
    item["additionalData"] = {"hmacSignature": harbor_item_signature(item)}
    if manual:  # as Adyen echoes a session's metadata: unsigned, like Adyen's
        item["additionalData"]["captureMode"] = "manual"
    body = {"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}
    return json.dumps(body, separators=(",", ":")).encode(), {"Content-Type": "application/json"}


def harbor_item_signature(item: Mapping[str, object]) -> str:
    amount = item.get("amount")
    amount = amount if isinstance(amount, dict) else {}
    values = [item.get(name, "") for name in HARBOR_SIGNED_FIELDS]
    values += [amount.get("value", ""), amount.get("currency", "")]
    values += [item.get(name, "") for name in ("eventCode", "success", "eventDate", "reason")]
    signed = ":".join(_harbor_escape(value) for value in values)
    return base64.b64encode(sign("sandbox_harbor", signed.encode())).decode()


def _harbor_reason(payment: SandboxPayment) -> str:
    if payment.status != "failed":
        return ""
    return f"{payment.failure_code}: {payment.failure_message or ''}".strip()


def _harbor_escape(value: object) -> str:
    """Adyen's rule: backslash and colon are escaped so the joined fields stay unambiguous."""
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


# -- Orbit ------------------------------------------------------------------------------


def orbit_notification(payment: SandboxPayment) -> Notification:
    message = {
        "event_type": "payment_state_changed",
        "sent_at": int(time.time()),
        "payment": {
            "reference": payment.id,
            "order_id": payment.attempt_id,
            "state": ORBIT_STATES[payment.status],
            "amount": {"value": payment.amount, "currency": payment.currency},
            "captured_amount": payment.amount_captured or 0,
            "decline_code": payment.failure_code,
            "decline_reason": payment.failure_message,
        },
    }
    body = json.dumps(message, separators=(",", ":")).encode()
    return body, {ORBIT_SIGNATURE_HEADER: orbit_signature(body)}


def orbit_signature(body: bytes) -> str:
    return base64.b64encode(sign("sandbox_orbit", body, "sha512")).decode()


_BUILDERS: dict[str, Callable[[SandboxPayment], Notification]] = {
    "sandbox_lumen": lumen_notification,
    "sandbox_harbor": harbor_notification,
    "sandbox_orbit": orbit_notification,
}


# -- refunds ----------------------------------------------------------------------------

ORBIT_REFUND_STATES = {
    "pending": "REFUND_PENDING",
    "succeeded": "REFUNDED",
    "failed": "REFUND_FAILED",
}


def lumen_refund_notification(refund: SandboxRefund) -> Notification:
    event = {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": f"refund.{refund.status}",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": refund.id,
                "object": "refund",
                "payment": refund.payment_id,
                "status": refund.status,
                "amount": refund.amount,
                "currency": refund.currency.lower(),
                "failure_code": refund.failure_code,
                "failure_message": refund.failure_message,
                "metadata": {"refund_id": refund.merchant_reference},
            }
        },
    }
    body = json.dumps(event, separators=(",", ":")).encode()
    return body, {LUMEN_SIGNATURE_HEADER: lumen_signature_header(body, event["created"])}


def harbor_refund_notification(refund: SandboxRefund) -> Notification:
    item = {
        "pspReference": refund.id,
        "originalReference": refund.payment_id,
        "merchantAccountCode": HARBOR_MERCHANT_ACCOUNT,
        "merchantReference": refund.merchant_reference,
        "amount": {"value": refund.amount, "currency": refund.currency},
        "eventCode": "REFUND",
        "success": "false" if refund.status == "failed" else "true",
        "eventDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": f"{refund.failure_code}: {refund.failure_message or ''}".strip()
        if refund.status == "failed"
        else "",
    }
    item["additionalData"] = {"hmacSignature": harbor_item_signature(item)}
    body = {"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}
    return json.dumps(body, separators=(",", ":")).encode(), {"Content-Type": "application/json"}


def orbit_refund_notification(refund: SandboxRefund) -> Notification:
    message = {
        "event_type": "refund_state_changed",
        "sent_at": int(time.time()),
        "refund": {
            "reference": refund.id,
            "payment_reference": refund.payment_id,
            "merchant_reference": refund.merchant_reference,
            "state": ORBIT_REFUND_STATES[refund.status],
            "amount": {"value": refund.amount, "currency": refund.currency},
            "decline_code": refund.failure_code,
            "decline_reason": refund.failure_message,
        },
    }
    body = json.dumps(message, separators=(",", ":")).encode()
    return body, {ORBIT_SIGNATURE_HEADER: orbit_signature(body)}


_REFUND_BUILDERS: dict[str, Callable[[SandboxRefund], Notification]] = {
    "sandbox_lumen": lumen_refund_notification,
    "sandbox_harbor": harbor_refund_notification,
    "sandbox_orbit": orbit_refund_notification,
}
