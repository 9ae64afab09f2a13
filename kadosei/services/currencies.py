"""ISO 4217 currencies and their minor units, from the maintained ``iso4217`` package."""

from __future__ import annotations

from functools import lru_cache

from iso4217 import Currency

# Funds codes, precious metals and testing codes are not currencies a customer pays in.
_NOT_PAYABLE = {"XAU", "XAG", "XPD", "XPT", "XTS", "XXX", "XBA", "XBB", "XBC", "XBD", "XSU"}
_NOT_PAYABLE |= {"XUA", "XDR", "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"}


@lru_cache(maxsize=1)
def _exponents() -> dict[str, int]:
    table = {}
    for currency in Currency:
        code = currency.code
        if code in _NOT_PAYABLE or currency.exponent is None:
            continue
        table[code] = int(currency.exponent)
    return table


def is_currency(code: object) -> bool:
    return isinstance(code, str) and code in _exponents()


def minor_unit(code: str) -> int:
    """Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD."""
    return _exponents()[code]


def all_currencies() -> frozenset[str]:
    return frozenset(_exponents())


def format_amount(amount: int, currency: str) -> str:
    """``1999, "EUR"`` → ``"19.99 EUR"`` (never through a float)."""
    digits = _exponents().get(currency, 2)
    if digits == 0:
        return f"{amount:,} {currency}"
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits)
    return f"{sign}{whole:,}.{fraction:0{digits}d} {currency}"


def decimal_amount(amount: int, currency: str) -> str:
    """``1999, "EUR"`` → ``"19.99"``: the amount in major units, plain (for exports)."""
    digits = _exponents().get(currency, 2)
    if digits == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}"


def parse_decimal_amount(text: str, currency: str) -> int:
    """``"19.99", "EUR"`` → ``1999`` exactly; ValueError when not a non-negative amount with at
    most the currency's number of decimals."""
    digits = _exponents()[currency]
    whole, dot, fraction = text.partition(".")
    if not whole.isdigit() or not whole.isascii() or (dot and not fraction.isdigit()):
        raise ValueError(f"{text!r} is not an amount")
    if len(fraction) > digits or not fraction.isascii():
        raise ValueError(f"{currency} has {digits} decimals")
    return int(whole) * 10**digits + int(fraction.ljust(digits, "0") or 0)
