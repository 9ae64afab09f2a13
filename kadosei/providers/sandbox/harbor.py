"""kadosei's adapter for Harbor, an Adyen-like sandbox PSP (every method, cards in about forty
currencies). Its notifications follow Adyen's shape: ``notificationItems`` whose item carries
an ``additionalData.hmacSignature``, the base64 HMAC-SHA256 of its key fields joined by ``:``
(unlike Adyen, ``eventDate`` and ``reason`` are signed too: a replay goes stale and a
failure's reason cannot be rewritten)."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

from kadosei.providers.base import (
    InvalidNotification,
    NotificationFacts,
    PaymentStatus,
    RefundStatus,
)
from kadosei.providers.sandbox.adapter import SandboxProvider, load_json_object
from kadosei.providers.sandbox.signing import check_fresh, hmac_digest

# Harbor's event codes: (eventCode, success) for each status it reports.
EVENTS = {
    "processing": ("PENDING", "true"),
    "succeeded": ("AUTHORISATION", "true"),
    "failed": ("AUTHORISATION", "false"),
    "canceled": ("CANCELLATION", "true"),
    "expired": ("OFFER_CLOSED", "true"),
}
STATUS_OF_EVENT = {event: status for status, event in EVENTS.items()}
# A manual-capture payment: its AUTHORISATION holds (``additionalData.captureMode`` "manual",
# echoed as Adyen echoes a session's metadata), its CAPTURE takes.
STATUS_OF_EVENT[("CAPTURE", "true")] = "succeeded"
SIGNED_FIELDS = ("pspReference", "originalReference", "merchantAccountCode", "merchantReference")


class HarborProvider(SandboxProvider):
    name = "sandbox_harbor"

    def item_signature(self, item: Mapping[str, object]) -> str:
        amount = item.get("amount")
        amount = amount if isinstance(amount, dict) else {}
        values = [item.get(name, "") for name in SIGNED_FIELDS]
        values += [amount.get("value", ""), amount.get("currency", "")]
        values += [item.get(name, "") for name in ("eventCode", "success", "eventDate", "reason")]
        signed = ":".join(_escape(value) for value in values)
        return base64.b64encode(hmac_digest(self.name, signed.encode())).decode()

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        """A payment's item, or a ``REFUND`` item about one of its refunds."""
        item = self._verified_item(body)
        if item.get("eventCode") == "REFUND":
            return [_refund_fact(item)]
        return [self.parse_notification(body, headers)]

    def _verified_item(self, body: bytes) -> dict:
        item = _single_item(load_json_object(body))
        additional = item.get("additionalData")
        received = additional.get("hmacSignature") if isinstance(additional, dict) else None
        if not isinstance(received, str) or not received:
            raise InvalidNotification("The notification item has no hmacSignature")
        if not hmac.compare_digest(self.item_signature(item).encode(), received.encode()):
            raise InvalidNotification("The hmacSignature does not match the notification item")
        check_fresh(_event_time(item.get("eventDate")))
        return item

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        item = self._verified_item(body)
        event = (_text(item.get("eventCode")), _text(item.get("success")))
        if event not in STATUS_OF_EVENT or not isinstance(item.get("pspReference"), str):
            raise InvalidNotification(f"Harbor event {event[0]!r} is not one kadosei handles")
        status = STATUS_OF_EVENT[event]
        additional = item["additionalData"]  # a dict: the signature was read from it
        if event == ("AUTHORISATION", "true") and additional.get("captureMode") == "manual":
            status = "authorized"
        code, message = _failure(item.get("reason")) if status == "failed" else (None, None)
        return PaymentStatus(
            provider_reference=item["pspReference"],
            status=status,
            failure_code=code,
            failure_message=message,
            raw=item,
            amount_captured=_captured(item) if status == "succeeded" else None,
        )


def _captured(item: Mapping[str, object]) -> int | None:
    amount = item.get("amount")
    value = amount.get("value") if isinstance(amount, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _text(value: object) -> str:
    """A field compared with Harbor's words: a list or object (unhashable) is no word."""
    return value if isinstance(value, str) else ""


def _failure(reason: object) -> tuple[str | None, str | None]:
    """``"card_declined: The card was declined."`` → its code and message."""
    code, _, message = str(reason or "").partition(":")
    return code.strip() or None, message.strip() or None


def _escape(value: object) -> str:
    """Adyen's rule: backslash and colon are escaped so the joined fields stay unambiguous."""
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


def _single_item(payload: dict) -> dict:
    items = payload.get("notificationItems")
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise InvalidNotification("Expected exactly one notification item")
    item = items[0].get("NotificationRequestItem")
    if not isinstance(item, dict):
        raise InvalidNotification("The notification item is malformed")
    return item


def _event_time(value: object) -> float:
    try:
        when = datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidNotification("The notification item has no valid eventDate") from None
    return when.timestamp()


def _refund_fact(item: dict) -> RefundStatus:
    if not isinstance(item.get("pspReference"), str) or _text(item.get("success")) not in (
        "true",
        "false",
    ):
        raise InvalidNotification("The REFUND item is malformed")
    succeeded = item["success"] == "true"
    code, message = (None, None) if succeeded else _failure(item.get("reason"))
    return RefundStatus(
        provider_refund_reference=item["pspReference"],
        status="succeeded" if succeeded else "failed",
        provider_reference=_text(item.get("originalReference")) or None,
        refund_id=_text(item.get("merchantReference")) or None,
        failure_code=code,
        failure_message=message,
        raw=item,
    )
