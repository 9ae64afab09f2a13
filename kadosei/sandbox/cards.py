"""The sandbox's test cards (docs/api.md §6) and card-number checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CardOutcome:
    status: str  # succeeded | failed | processing
    failure_code: str | None = None
    failure_message: str | None = None


TEST_CARDS: dict[str, CardOutcome] = {
    "4242424242424242": CardOutcome("succeeded"),
    "4000000000000002": CardOutcome("failed", "card_declined", "The card was declined."),
    "4000000000009995": CardOutcome(
        "failed", "insufficient_funds", "The card has insufficient funds."
    ),
    "4000000000000259": CardOutcome("processing"),
}
# Any other valid number succeeds (subject to the provider's success-rate knob).
DEFAULT_OUTCOME = CardOutcome("succeeded")
DECLINED = TEST_CARDS["4000000000000002"]


class InvalidCardNumber(ValueError):
    """Not a card number: the customer is asked again."""


def normalize_card_number(raw: str) -> str:
    """Digits only, accepting the spaces and dashes people type; ``InvalidCardNumber`` unless
    it is 12–19 digits passing the Luhn check."""
    digits = "".join(raw.split()).replace("-", "")
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise InvalidCardNumber("Enter the 12 to 19 digits of the card number.")
    if not luhn_valid(digits):
        raise InvalidCardNumber("This card number is not valid. Check it and try again.")
    return digits


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def outcome_for(card_number: str) -> CardOutcome:
    return TEST_CARDS.get(card_number, DEFAULT_OUTCOME)
