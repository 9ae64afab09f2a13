"""What Stripe refuses in a Checkout Session or refund request, with its messages and params.

Only the rules an adapter can trip over are checked: unknown parameters, missing ones, amounts
that are not positive integers in minor units, mixed currencies, three-decimal currencies whose
amount does not end in 0, the expiry window, metadata limits.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

SESSION_PARAMS = {
    "mode", "line_items", "success_url", "cancel_url", "metadata", "client_reference_id",
    "customer", "customer_email", "customer_creation", "payment_method_types",
    "payment_method_options", "payment_method_configuration", "payment_intent_data",
    "expires_at", "locale", "currency", "expand", "ui_mode", "billing_address_collection",
    "submit_type", "allow_promotion_codes", "automatic_tax", "phone_number_collection",
    "shipping_address_collection", "custom_text", "consent_collection", "invoice_creation",
    "discounts", "tax_id_collection", "after_expiration", "payment_method_collection",
    "custom_fields", "return_url", "redirect_on_completion", "excluded_payment_method_types",
}  # fmt: skip
INTENT_DATA_PARAMS = {
    "capture_method", "metadata", "description", "statement_descriptor",
    "statement_descriptor_suffix", "receipt_email", "setup_future_usage",
    "application_fee_amount", "on_behalf_of", "transfer_data", "transfer_group", "shipping",
}  # fmt: skip
CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


class StripeInvalid(Exception):
    """A 400 invalid_request_error; ``fields`` go into Stripe's error object."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.fields: dict[str, Any] = {"message": message}
        if param:
            self.fields["param"] = param
        if code:
            self.fields["code"] = code


def _require(value: Any, param: str) -> Any:
    if value in (None, ""):
        raise StripeInvalid(f"Missing required param: {param}.", param, "parameter_missing")
    return value


def _integer(value: str, param: str) -> int:
    if not isinstance(value, str) or not value.isdigit():
        raise StripeInvalid(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    return int(value)


def _url(value: str | None, param: str) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise StripeInvalid("Not a valid URL", param, "url_invalid")
    return value


def _metadata(value: Any, param: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or len(value) > 50:
        raise StripeInvalid("Invalid metadata: at most 50 keys.", param)
    for key, item in value.items():
        if len(key) > 40 or not isinstance(item, str) or len(item) > 500:
            raise StripeInvalid(f"Invalid metadata[{key}]: key or value too long.", param)
    return value


def _line(item: dict[str, Any], index: int) -> dict[str, Any]:
    where = f"line_items[{index}]"
    if "price" in item:
        raise StripeInvalid(
            f"No such price: '{item['price']}'", f"{where}[price]", "resource_missing"
        )
    price = _require(item.get("price_data"), f"{where}[price_data]")
    currency = _require(price.get("currency"), f"{where}[price_data][currency]")
    if len(currency) != 3 or not currency.islower():
        raise StripeInvalid(f"Invalid currency: {currency}.", f"{where}[price_data][currency]")
    if "product" not in price:
        product = _require(price.get("product_data"), f"{where}[price_data][product_data]")
        _require(product.get("name"), f"{where}[price_data][product_data][name]")
    unit = _integer(
        _require(price.get("unit_amount"), f"{where}[price_data][unit_amount]"),
        f"{where}[price_data][unit_amount]",
    )
    quantity = _integer(_require(item.get("quantity"), f"{where}[quantity]"), f"{where}[quantity]")
    if currency in THREE_DECIMAL and unit % 10:
        raise StripeInvalid(
            f"Amounts in {currency} must be divisible by 10 (the last digit must be 0).",
            f"{where}[price_data][unit_amount]",
            "amount_invalid",
        )
    name = price.get("product_data", {}).get("name", price.get("product"))
    return {
        "object": "item",
        "amount_total": unit * quantity,
        "currency": currency,
        "description": name,
        "quantity": quantity,
        "price": {"unit_amount": unit, "currency": currency},
    }


def validate_session(params: dict[str, Any], now: int) -> dict[str, Any]:
    """The fields of a new payment-mode session, or StripeInvalid for what Stripe would refuse."""
    for name in params:
        if name not in SESSION_PARAMS:
            raise StripeInvalid(f"Received unknown parameter: {name}", name)
    mode = _require(params.get("mode"), "mode")
    if mode != "payment":
        raise StripeInvalid(f"This fake takes mode=payment only, not {mode}.", "mode")
    items = _require(params.get("line_items"), "line_items")
    if not isinstance(items, list):
        raise StripeInvalid("Invalid array", "line_items")
    lines = [_line(item, index) for index, item in enumerate(items)]
    currencies = {line["currency"] for line in lines}
    if len(currencies) > 1:
        raise StripeInvalid("All line items must use the same currency.", "line_items")
    total = sum(line["amount_total"] for line in lines)
    if not 0 < total <= 99_999_999:
        raise StripeInvalid("The Checkout Session's total amount must be positive.", "line_items")
    intent_data = params.get("payment_intent_data") or {}
    for name in intent_data:
        if name not in INTENT_DATA_PARAMS:
            raise StripeInvalid(
                f"Received unknown parameter: payment_intent_data[{name}]",
                f"payment_intent_data[{name}]",
            )
    capture = intent_data.get("capture_method", "automatic_async")
    if capture not in CAPTURE_METHODS:
        raise StripeInvalid(
            "Invalid payment_intent_data[capture_method]: must be one of "
            + ", ".join(CAPTURE_METHODS),
            "payment_intent_data[capture_method]",
        )
    _metadata(intent_data.get("metadata"), "payment_intent_data[metadata]")
    expires_at = _integer(params.get("expires_at", str(now + 86_400)), "expires_at")
    if not now + 1800 <= expires_at <= now + 86_400:
        raise StripeInvalid(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
            "expires_at",
        )
    reference = params.get("client_reference_id")
    if reference is not None and len(reference) > 200:
        raise StripeInvalid("client_reference_id is too long.", "client_reference_id")
    return {
        "amount_subtotal": total,
        "amount_total": total,
        "currency": lines[0]["currency"],
        "success_url": _url(params.get("success_url"), "success_url"),
        "cancel_url": _url(params.get("cancel_url"), "cancel_url"),
        "metadata": _metadata(params.get("metadata"), "metadata"),
        "client_reference_id": reference,
        "customer_email": params.get("customer_email"),
        "expires_at": expires_at,
        "locale": params.get("locale"),
        "payment_method_types": params.get("payment_method_types") or ["card"],
        "payment_intent_data": {**intent_data, "capture_method": capture},
        "lines": lines,
    }


def validate_refund(
    params: dict[str, Any], intent: dict[str, Any], charge: dict[str, Any] | None
) -> int:
    """The amount to refund, or StripeInvalid as Stripe would answer."""
    if charge is None or not charge["paid"] or not charge["captured"]:
        raise StripeInvalid(
            f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
            "payment_intent",
            "charge_not_refundable",
        )
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    amount = _integer(params.get("amount", str(remaining)), "amount")
    if amount <= 0:
        raise StripeInvalid("Invalid positive integer", "amount", "parameter_invalid_integer")
    if amount > remaining:
        raise StripeInvalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            "amount",
            "amount_too_large",
        )
    reason = params.get("reason")
    if reason is not None and reason not in REFUND_REASONS:
        raise StripeInvalid(f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}", "reason")
    _metadata(params.get("metadata"), "metadata")
    return amount
