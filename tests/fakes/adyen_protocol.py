"""Adyen's wire details the fake needs: references, error exceptions, amount checks and the
standard notification item with its HMAC signature (``additionalData.hmacSignature``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from datetime import UTC, datetime
from typing import Any

import iso4217

_PSP_ALPHABET = string.ascii_uppercase + string.digits


def new_psp_reference() -> str:
    return "".join(secrets.choice(_PSP_ALPHABET) for _ in range(16))


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def notification_signature(item: dict[str, Any], hmac_key: str) -> str:
    """Adyen's HMAC for a NotificationRequestItem: SHA-256 over the colon-joined fields."""
    fields = [
        item.get("pspReference", ""),
        item.get("originalReference", ""),
        item.get("merchantAccountCode", ""),
        item.get("merchantReference", ""),
        str(item["amount"]["value"]),
        item["amount"]["currency"],
        item.get("eventCode", ""),
        item.get("success", ""),
    ]
    digest = hmac.new(bytes.fromhex(hmac_key), ":".join(fields).encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


class AdyenInvalid(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def check_amount(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or "value" not in raw:
        raise AdyenInvalid(422, "100", "Required field 'amount' is not provided.")
    value, currency = raw.get("value"), raw.get("currency")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise AdyenInvalid(422, "137", "Invalid amount specified")
    try:
        iso4217.Currency(currency)
    except (ValueError, KeyError, TypeError):
        raise AdyenInvalid(422, "138", "Unsupported currency specified")
    return {"value": value, "currency": currency}


def notification_item(
    event: str,
    psp: str,
    amount: dict[str, Any],
    merchant_account: str,
    reference: str,
    success: bool,
    reason: str,
    hmac_key: str,
    *,
    original: str | None = None,
    operations: list[str] | None = None,
    additional: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A signed NotificationRequestItem as Adyen sends it in a standard notification."""
    item: dict[str, Any] = {
        "amount": dict(amount),
        "eventCode": event,
        "eventDate": iso_time(datetime.now(UTC)),
        "merchantAccountCode": merchant_account,
        "merchantReference": reference,
        "paymentMethod": "visa",
        "pspReference": psp,
        "reason": reason,
        "success": "true" if success else "false",
    }
    if original:
        item["originalReference"] = original
    if operations and success:
        item["operations"] = operations
    signature = notification_signature(item, hmac_key)
    item["additionalData"] = {**(additional or {}), "hmacSignature": signature}
    return item
