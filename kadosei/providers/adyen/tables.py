"""Adyen's tables in kadosei's terms: payment method types, list prices, currency exponents,
refusal reasons and session statuses."""

from __future__ import annotations

from kadosei.providers.base import Decline, Fee

# kadosei's methods → Adyen's payment method types (allowedPaymentMethods).
METHOD_TYPES = {
    "card": "scheme",
    "ideal": "ideal",
    "bancontact": "bcmc",
    "sepa_debit": "sepadirectdebit",
    "paypal": "paypal",
    "klarna": "klarna",
}
# Methods that take one currency only (docs.adyen.com/payment-methods: iDEAL, Bancontact and
# SEPA Direct Debit are euro schemes); the others take what the account takes.
METHOD_CURRENCIES = {
    "ideal": frozenset({"EUR"}),
    "bancontact": frozenset({"EUR"}),
    "sepa_debit": frozenset({"EUR"}),
}
# Approximate list prices (adyen.com/pricing: €0.11 processing fee plus the method's fee;
# cards are interchange++, shown as an average). An account's own ``fees`` replace them.
DEFAULT_FEES = {
    "card": Fee(0.6, 13),
    "ideal": Fee(0.0, 32),
    "bancontact": Fee(0.0, 35),
    "sepa_debit": Fee(0.0, 41),
    "paypal": Fee(0.0, 11),
    "klarna": Fee(3.29, 11),
}
# Adyen's exponent where it differs from ISO 4217 (docs.adyen.com/…/currency-codes).
EXPONENT_SHIFT = {"CLP": 2, "ISK": 2}  # Adyen value = ISO minor units × 10**shift
NOT_EXACT = {"CVE", "IDR"}  # Adyen takes no decimals where ISO has two

# Adyen's refusal reasons (docs.adyen.com/development-resources/refusal-reasons) in kadosei's
# words. retry_elsewhere: another provider may succeed (processing/provider side refusals).
DECLINES: dict[str, Decline] = {
    "Refused": Decline("card_declined", True, "Your card was declined."),
    "Referral": Decline("card_declined", True, "Your card was declined."),
    "Declined Non Generic": Decline("card_declined", True, "Your card was declined."),
    "Transaction Not Permitted": Decline(
        "card_declined", False, "Your card does not allow this payment."
    ),
    "Restricted Card": Decline("card_declined", False, "Your card does not allow this payment."),
    "Blocked Card": Decline("card_declined", False, "Your card is blocked."),
    "Not supported": Decline("card_declined", True, "This card is not supported here."),
    "Not enough balance": Decline("insufficient_funds", False, "Your card has insufficient funds."),
    "Withdrawal amount exceeded": Decline(
        "insufficient_funds", False, "The payment exceeds your card's limit."
    ),
    "Withdrawal count exceeded": Decline(
        "card_declined", False, "Your card's limit of payments was reached."
    ),
    "CVC Declined": Decline("incorrect_cvc", False, "Your card's security code is incorrect."),
    "Expired Card": Decline("expired_card", False, "Your card has expired."),
    "Invalid Card Number": Decline("incorrect_number", False, "Your card number is invalid."),
    "Invalid Amount": Decline("invalid_amount", True, "The amount could not be processed."),
    "FRAUD": Decline("fraudulent", False, "Your payment was declined."),
    "FRAUD-CANCELLED": Decline("fraudulent", False, "Your payment was declined."),
    "Acquirer Fraud": Decline("fraudulent", False, "Your payment was declined."),
    "Issuer Suspected Fraud": Decline("fraudulent", False, "Your payment was declined."),
    "Issuer Unavailable": Decline(
        "processing_error", True, "Your bank could not be reached. Please try again."
    ),
    "Acquirer Error": Decline(
        "processing_error", True, "The payment could not be processed. Please try again."
    ),
    "Not Submitted": Decline(
        "processing_error", True, "The payment could not be processed. Please try again."
    ),
    "3D Not Authenticated": Decline(
        "authentication_failed", True, "The payment could not be authenticated."
    ),
    "3DS Authentication Error": Decline(
        "authentication_failed", True, "The payment could not be authenticated."
    ),
    "Authentication required": Decline(
        "authentication_failed", True, "The payment needs authentication."
    ),
    "Cancelled": Decline("canceled", False, "The payment was canceled."),
    "Shopper Cancelled": Decline("canceled", False, "You canceled the payment."),
}
UNKNOWN_DECLINE = Decline("card_declined", True, "Your payment was declined.")

# GET /sessions status → kadosei status (completed: authorised; capture mode unknown here).
SESSION_STATUSES = {
    "active": "pending",
    "paymentPending": "processing",
    "completed": "authorized",
    "refused": "failed",
    "canceled": "canceled",
    "expired": "expired",
}


def to_adyen_amount(amount: int, currency: str) -> dict[str, int | str]:
    """kadosei's ISO minor units as Adyen's ``{value, currency}`` (exact; see NOT_EXACT)."""
    return {"value": amount * 10 ** EXPONENT_SHIFT.get(currency, 0), "currency": currency}


def from_adyen_amount(value: int, currency: str) -> int:
    """Adyen's minor units back into kadosei's (ISO 4217) ones."""
    return value // 10 ** EXPONENT_SHIFT.get(currency, 0)
