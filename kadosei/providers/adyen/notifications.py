"""Adyen's standard notifications: every NotificationRequestItem verified with the SDK's HMAC
check, then read as kadosei facts (pure and deterministic: a replay gives the same facts)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from Adyen.util import is_valid_hmac_notification

from kadosei.providers.adyen.tables import DECLINES, UNKNOWN_DECLINE, from_adyen_amount
from kadosei.providers.base import InvalidNotification, PaymentStatus, RefundStatus


def verified_items(body: bytes, hmac_key: str) -> list[dict[str, Any]]:
    """The notification's items, or ``InvalidNotification`` if any one does not verify."""
    try:
        payload = json.loads(body)
        items = [entry["NotificationRequestItem"] for entry in payload["notificationItems"]]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise InvalidNotification("Not an Adyen standard notification") from None
    if not items:
        raise InvalidNotification("The notification has no items")
    for item in items:
        if not _signed(item, hmac_key):
            raise InvalidNotification("An item's HMAC signature does not verify")
    return items


def _signed(item: Any, hmac_key: str) -> bool:
    if not isinstance(item, dict) or not hmac_key:
        return False
    signature = (item.get("additionalData") or {}).get("hmacSignature")
    if not isinstance(signature, str) or not signature:
        return False
    try:
        return is_valid_hmac_notification(item, hmac_key) is True
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


def fact_of(item: Mapping[str, Any]) -> PaymentStatus | RefundStatus | None:
    """What one verified NotificationRequestItem reports; None for events kadosei ignores."""
    event = item.get("eventCode")
    raw = {k: item.get(k) for k in ("eventCode", "pspReference", "success", "reason")}
    if event == "REFUND":
        return _refund_fact(item, raw)
    psp = str(item.get("pspReference", ""))
    if event in ("AUTHORISATION", "OFFER_CLOSED"):
        # A sessions-flow payment names its session (kadosei's provider_reference).
        session = (item.get("additionalData") or {}).get("checkoutSessionId")
        reference, payment = str(session or psp), psp
    elif event in ("CAPTURE", "CANCELLATION"):
        reference = payment = str(item.get("originalReference") or psp)
    else:
        return None
    success = item.get("success") == "true"
    if event == "AUTHORISATION" and not success:
        decline = DECLINES.get(str(item.get("reason") or ""), UNKNOWN_DECLINE)
        return PaymentStatus(
            reference,
            "failed",
            failure_code=decline.code,
            failure_message=decline.message,
            raw=raw,
            retry_elsewhere=decline.retry_elsewhere,
            payment_reference=payment,
        )
    status = _event_status(str(event), success, item)
    captured = _amount_of(item) if status == "succeeded" else None
    return PaymentStatus(
        reference, status, raw=raw, payment_reference=payment, amount_captured=captured
    )


def _refund_fact(item: Mapping[str, Any], raw: dict[str, Any]) -> RefundStatus:
    success = item.get("success") == "true"
    return RefundStatus(
        provider_refund_reference=str(item.get("pspReference", "")),
        status="succeeded" if success else "failed",
        provider_reference=item.get("originalReference"),
        refund_id=item.get("merchantReference"),
        failure_code=None if success else "refund_failed",
        failure_message=None if success else (item.get("reason") or None),
        raw=raw,
    )


def _amount_of(item: Mapping[str, Any]) -> int | None:
    amount = item.get("amount") or {}
    if not isinstance(amount.get("value"), int):
        return None
    return from_adyen_amount(amount["value"], str(amount.get("currency")))


def _event_status(event: str, success: bool, item: Mapping[str, Any]) -> str:
    """A successful (or harmless) event's status; refused AUTHORISATIONs are declines."""
    if event == "OFFER_CLOSED":
        return "expired"
    if event == "CANCELLATION":
        return "canceled" if success else "authorized"
    if event == "CAPTURE":
        return "succeeded" if success else "authorized"
    # AUTHORISATION success: captured now unless the session asked for a manual capture.
    manual = (item.get("additionalData") or {}).get("metadata.capture_method") == "manual"
    return "authorized" if manual else "succeeded"
