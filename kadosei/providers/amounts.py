"""Amounts as providers want them: kadosei keeps integers in the currency's minor unit
(docs/api.md §2); some PSPs take decimal strings ("10.00", "500", "1.500")."""

from __future__ import annotations

from kadosei.currencies import minor_unit


def to_decimal_string(amount: int, currency: str) -> str:
    """``1999, "EUR"`` → ``"19.99"``; ``500, "JPY"`` → ``"500"``; ``1500, "KWD"`` → ``"1.500"``."""
    digits = minor_unit(currency)
    sign = "-" if amount < 0 else ""
    if digits == 0:
        return f"{sign}{abs(amount)}"
    whole, fraction = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}"


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
