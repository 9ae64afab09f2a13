"""What Mollie's Payments API refuses, and its amount format: decimal strings with exactly the
currency's ISO 4217 decimals ("10.00", JPY "500", KWD "1.500")."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import iso4217


def money(value: Decimal, currency: str) -> dict[str, str]:
    """Mollie's amount object: the value with exactly the currency's ISO 4217 decimals."""
    places = iso4217.Currency(currency).exponent or 0
    return {"currency": currency, "value": f"{value:.{places}f}"}


class MollieInvalid(Exception):
    def __init__(self, detail: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(detail)
        self.detail, self.field, self.status = detail, field, status


def parse_amount(raw: Any, field: str = "amount") -> tuple[Decimal, str]:
    if not isinstance(raw, dict):
        raise MollieInvalid(f"The {field} is required.", field)
    currency, value = raw.get("currency"), raw.get("value")
    try:
        places = iso4217.Currency(currency).exponent or 0
    except (ValueError, KeyError, TypeError):
        raise MollieInvalid(f"The currency '{currency}' is not supported.", f"{field}.currency")
    pattern = r"\d+" if places == 0 else rf"\d+\.\d{{{places}}}"
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise MollieInvalid(
            f"The amount contains an invalid value: {currency} takes {places} decimals.",
            f"{field}.value",
        )
    if Decimal(value) <= 0:
        raise MollieInvalid("The amount is lower than the minimum.", f"{field}.value")
    return Decimal(value), currency


def _url(raw: Any, field: str, required: bool) -> str | None:
    if raw is None and not required:
        return None
    if not isinstance(raw, str) or not re.match(r"https?://[^/\s]+", raw):
        raise MollieInvalid(f"The {field} is invalid.", field)
    return raw


def validate_payment(body: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of a new payment, or MollieInvalid (422 with the offending field)."""
    value, currency = parse_amount(body.get("amount"))
    description = body.get("description")
    if not isinstance(description, str) or not 0 < len(description) <= 255:
        raise MollieInvalid("The description is invalid.", "description")
    capture_mode = body.get("captureMode", "automatic")
    if capture_mode not in ("automatic", "manual"):
        raise MollieInvalid("The capture mode is invalid.", "captureMode")
    if len(json.dumps(body.get("metadata"))) > 1024:
        raise MollieInvalid("The metadata is too large (1024 bytes at most).", "metadata")
    return {
        "amount": money(value, currency),
        "description": description,
        "metadata": body.get("metadata"),
        "redirectUrl": _url(body.get("redirectUrl"), "redirectUrl", required=True),
        "cancelUrl": _url(body.get("cancelUrl"), "cancelUrl", required=False),
        "webhookUrl": _url(body.get("webhookUrl"), "webhookUrl", required=False),
        "captureMode": capture_mode,
    }
