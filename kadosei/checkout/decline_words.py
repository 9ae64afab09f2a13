"""Why a payment did not go through, in the customer's words (docs/api.md §5 step 5).

Keyed by kadosei's ``failure.code`` (the adapters' decline tables map every provider's codes
onto these); the page never shows a code, kadosei's or the provider's.
"""

from __future__ import annotations

CUSTOMER_WORDS = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "There is not enough money available on your card for this payment.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "The security code (CVC) did not match your card.",
    "incorrect_number": "The card number was not recognised.",
    "authentication_failed": "Your bank could not confirm that it is you making this payment.",
    "processing_error": "The payment could not be processed just now.",
    "payment_declined": "The payment was not approved.",
    # Lost, stolen and suspected-fraud declines are told as a plain refusal, as banks advise.
    "stolen_card": "Your bank declined this payment.",
    "fraudulent": "Your bank declined this payment.",
    "invalid_amount": "The payment could not be processed for this amount.",
}
DEFAULT_WORDS = "The payment was declined."

# What the customer can do about it, by code (default: try again, perhaps another card).
ADVICE = {
    "insufficient_funds": "You can try again with another card.",
    "expired_card": "You can try again with another card.",
    "incorrect_cvc": "Check the details and try again.",
    "incorrect_number": "Check the card number and try again.",
    "stolen_card": "You can try again with another card, or contact your bank.",
    "fraudulent": "You can try again with another card, or contact your bank.",
}
DEFAULT_ADVICE = "You can try again; nothing was charged."


def decline_sentence(code: str | None) -> str:
    return CUSTOMER_WORDS.get(code or "", DEFAULT_WORDS)


def decline_advice(code: str | None) -> str:
    return ADVICE.get(code or "", DEFAULT_ADVICE)
