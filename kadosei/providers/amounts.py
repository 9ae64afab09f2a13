"""Amounts as providers want them: kadosei keeps integers in the currency's minor unit
(docs/api.md §2); some PSPs take decimal strings ("10.00", "500", "1.500")."""

from __future__ import annotations

from kadosei.currencies import major_units, minor_unit

# ``1999, "EUR"`` → ``"19.99"``; ``500, "JPY"`` → ``"500"``; ``1500, "KWD"`` → ``"1.500"``:
# the decimal string is the amount as a person types it.
to_decimal_string = major_units


def from_decimal_string(value: str, currency: str) -> int:
    """The inverse of ``to_decimal_string``; ``ValueError`` for anything not exactly the
    currency's decimals (never through a float)."""
    digits = minor_unit(currency)
    text = value.strip()
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("-").partition(".")
    if not whole.isascii() or not whole.isdigit() or len(fraction) != digits:
        raise ValueError(f"{value!r} is not an amount in {currency}")
    if fraction and (not fraction.isascii() or not fraction.isdigit()):
        raise ValueError(f"{value!r} is not an amount in {currency}")
    amount = int(whole) * 10**digits + (int(fraction) if fraction else 0)
    return -amount if negative else amount
