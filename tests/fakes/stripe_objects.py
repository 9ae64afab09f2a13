"""Stripe's objects as JSON dicts (PaymentIntent, Charge, Refund, Event) and its card errors.

The fake's server keeps these dicts and changes them; only their shape lives here.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from typing import Any

from tests.fakes.loopback import CardOutcome

API_VERSION = "2026-10-28.endive"  # what stripe 16.1.0 sends as Stripe-Version
_ALPHABET = string.ascii_letters + string.digits

# outcome -> (error code, decline_code, message) as Stripe puts them in last_payment_error
DECLINES: dict[CardOutcome, tuple[str, str | None, str]] = {
    CardOutcome.DECLINED: ("card_declined", "generic_decline", "Your card was declined."),
    CardOutcome.INSUFFICIENT_FUNDS: (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    CardOutcome.INVALID_NUMBER: ("incorrect_number", None, "Your card number is incorrect."),
}
# decline codes Stripe reports as an error code of their own rather than under card_declined
OWN_CODES = {"expired_card", "incorrect_cvc", "processing_error", "incorrect_number"}


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def snapshot(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, so later changes to the fake's state do not leak into a sent object."""
    return json.loads(json.dumps(obj))


def payment_intent(session: dict[str, Any], livemode: bool) -> dict[str, Any]:
    """The PaymentIntent Checkout creates when the customer first tries to pay."""
    pi_data = session["payment_intent_data"]
    return {
        "id": new_id("pi_"),
        "object": "payment_intent",
        "amount": session["amount_total"],
        "amount_capturable": 0,
        "amount_received": 0,
        "currency": session["currency"],
        "capture_method": pi_data.get("capture_method", "automatic_async"),
        "created": int(time.time()),
        "livemode": livemode,
        "metadata": pi_data.get("metadata", {}),
        "description": pi_data.get("description"),
        "status": "requires_payment_method",
        "last_payment_error": None,
        "latest_charge": None,
        "payment_method": None,
        "payment_method_types": session["payment_method_types"],
        "canceled_at": None,
        "cancellation_reason": None,
    }


def charge(intent: dict[str, Any], status: str, captured: bool, livemode: bool) -> dict[str, Any]:
    return {
        "id": new_id("ch_"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if captured else 0,
        "amount_refunded": 0,
        "captured": captured,
        "currency": intent["currency"],
        "created": int(time.time()),
        "livemode": livemode,
        "paid": status == "succeeded",
        "payment_intent": intent["id"],
        "refunded": False,
        "status": status,
        "failure_code": None,
        "failure_message": None,
    }


def card_error(code: str, decline_code: str | None, message: str, charge_id: str) -> dict:
    """A PaymentIntent's ``last_payment_error``."""
    return {
        "type": "card_error",
        "code": code,
        "decline_code": decline_code,
        "message": message,
        "charge": charge_id,
    }


def refund(
    paid: dict[str, Any], amount: int, params: dict[str, Any], status: str
) -> dict[str, Any]:
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "charge": paid["id"],
        "currency": paid["currency"],
        "created": int(time.time()),
        "metadata": params.get("metadata", {}),
        "payment_intent": paid["payment_intent"],
        "reason": params.get("reason"),
        "status": status,
        "failure_reason": None,
    }


def event(event_type: str, obj: dict[str, Any], livemode: bool) -> dict[str, Any]:
    return {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": snapshot(obj)},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
