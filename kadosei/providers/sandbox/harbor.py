"""Harbor: an Adyen-like sandbox PSP with every method and cards in about forty currencies.
Notifications follow Adyen's shape: ``notificationItems`` whose item carries an
``additionalData.hmacSignature``, the base64 HMAC-SHA256 of its key fields joined by ``:``
(unlike Adyen, ``eventDate`` and ``reason`` are signed too: a replay goes stale and a
failure's reason cannot be rewritten)."""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from kadosei.models.sandbox import SandboxPayment
from kadosei.providers.base import Capabilities, Fee, InvalidNotification, PaymentStatus
from kadosei.providers.sandbox.adapter import TEST_MODE_ONLY, SandboxProvider, load_json_object
from kadosei.providers.sandbox.signing import check_fresh, hmac_digest

MERCHANT_ACCOUNT = "KadoseiSandbox"
EUR = frozenset({"EUR"})
CARD_CURRENCIES = frozenset(
    {"AED", "AUD", "BHD", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK"}
    | {"EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KRW", "KWD", "MXN"}
    | {"MYR", "NOK", "NZD", "PEN", "PHP", "PLN", "QAR", "RON", "SAR", "SEK", "SGD", "THB"}
    | {"TRY", "TWD", "USD", "ZAR"}
)
PAYPAL_CURRENCIES = frozenset(
    {"AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "JPY", "NOK", "NZD", "PLN"}
    | {"SEK", "SGD", "USD"}
)
KLARNA_CURRENCIES = frozenset({"CHF", "DKK", "EUR", "GBP", "NOK", "SEK", "USD"})

CAPABILITIES = Capabilities(
    modes=TEST_MODE_ONLY,
    methods=frozenset({"card", "ideal", "bancontact", "sepa_debit", "paypal", "klarna"}),
    currencies=CARD_CURRENCIES,
    fees={
        "card": Fee(1.2, 11),
        "ideal": Fee(0.0, 21),
        "bancontact": Fee(0.0, 25),
        "sepa_debit": Fee(0.0, 27),
        "paypal": Fee(2.9, 30),
        "klarna": Fee(3.29, 30),
    },
    method_currencies={
        "ideal": EUR,
        "bancontact": EUR,
        "sepa_debit": EUR,
        "paypal": PAYPAL_CURRENCIES,
        "klarna": KLARNA_CURRENCIES,
    },
)

# Harbor's event codes: (eventCode, success) for each status it reports.
EVENTS = {
    "processing": ("PENDING", "true"),
    "succeeded": ("AUTHORISATION", "true"),
    "failed": ("AUTHORISATION", "false"),
    "canceled": ("CANCELLATION", "true"),
    "expired": ("OFFER_CLOSED", "true"),
}
STATUS_OF_EVENT = {event: status for status, event in EVENTS.items()}
SIGNED_FIELDS = ("pspReference", "originalReference", "merchantAccountCode", "merchantReference")


class HarborProvider(SandboxProvider):
    name = "sandbox_harbor"
    display_name = "Harbor"
    tagline = "Every method, cards in about forty currencies, Adyen-style notifications."

    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def build_notification(self, payment: SandboxPayment) -> tuple[bytes, dict[str, str]]:
        if payment.status not in EVENTS:
            raise ValueError(f"Harbor sends no notification for a {payment.status} payment")
        event_code, success = EVENTS[payment.status]
        item = {
            "pspReference": payment.id,
            "originalReference": "",
            "merchantAccountCode": MERCHANT_ACCOUNT,
            "merchantReference": payment.attempt_id,
            "amount": {"value": payment.amount, "currency": payment.currency},
            "eventCode": event_code,
            "success": success,
            "eventDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reason": _reason(payment),
        }
        item["additionalData"] = {"hmacSignature": self.item_signature(item)}
        body = {"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}
        return json.dumps(body, separators=(",", ":")).encode(), {
            "Content-Type": "application/json"
        }

    def item_signature(self, item: Mapping[str, object]) -> str:
        amount = item.get("amount")
        amount = amount if isinstance(amount, dict) else {}
        values = [item.get(name, "") for name in SIGNED_FIELDS]
        values += [amount.get("value", ""), amount.get("currency", "")]
        values += [item.get(name, "") for name in ("eventCode", "success", "eventDate", "reason")]
        signed = ":".join(_escape(value) for value in values)
        return base64.b64encode(hmac_digest(self.name, signed.encode())).decode()

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        item = _single_item(load_json_object(body))
        additional = item.get("additionalData")
        received = additional.get("hmacSignature") if isinstance(additional, dict) else None
        if not isinstance(received, str) or not received:
            raise InvalidNotification("The notification item has no hmacSignature")
        if not hmac.compare_digest(self.item_signature(item).encode(), received.encode()):
            raise InvalidNotification("The hmacSignature does not match the notification item")
        check_fresh(_event_time(item.get("eventDate")))
        event = (_text(item.get("eventCode")), _text(item.get("success")))
        if event not in STATUS_OF_EVENT or not isinstance(item.get("pspReference"), str):
            raise InvalidNotification(f"Harbor event {event[0]!r} is not one kadosei handles")
        status = STATUS_OF_EVENT[event]
        code, message = _failure(item.get("reason")) if status == "failed" else (None, None)
        return PaymentStatus(
            provider_reference=item["pspReference"],
            status=status,
            failure_code=code,
            failure_message=message,
            raw=item,
        )


def _text(value: object) -> str:
    """A field compared with Harbor's words: a list or object (unhashable) is no word."""
    return value if isinstance(value, str) else ""


def _reason(payment: SandboxPayment) -> str:
    if payment.status != "failed":
        return ""
    return f"{payment.failure_code}: {payment.failure_message or ''}".strip()


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
