"""ISO 4217 currencies and their minor units, from the maintained ``iso4217`` package.

Below every layer (services validate with it, provider adapters convert amounts with it)."""

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


def major_units(amount: int, currency: str) -> str:
    """``1999`` EUR as ``19.99`` (``500`` JPY as ``500``, ``1500`` KWD as ``1.500``): an
    amount as a person types it, and the decimal string some PSPs take."""
    digits = minor_unit(currency)
    sign = "-" if amount < 0 else ""
    if digits == 0:
        return f"{sign}{abs(amount)}"
    whole, fraction = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}"


def parse_amount(text: str, currency: str | None, *, in_major_units: bool = False) -> int:
    """What a person typed as an amount, in minor units; ValueError says why it is not one.

    ``19.99`` is read in ``currency``'s major unit, so it needs one. A whole number is minor
    units (``1999``), or with ``in_major_units`` major ones (``20`` EUR is 2000)."""
    text = text.strip()
    whole, dot, fraction = text.partition(".")
    if not (text.isascii() and whole.isdigit() and (not dot or fraction.isdigit())):
        if in_major_units and is_currency(currency):
            raise ValueError(f"Enter the amount in {currency}, e.g. {major_units(1999, currency)}")
        raise ValueError("An amount is a number: 1999 in minor units, or 19.99")
    if not (dot or in_major_units):
        return int(whole)
    if not is_currency(currency):
        raise ValueError("Choose a currency to search by 19.99, or type minor units")
    digits = minor_unit(currency)
    if len(fraction) > digits:
        raise ValueError(f"Not an amount in {currency}: {currency} has {digits} decimals")
    return int(whole) * 10**digits + int(fraction.ljust(digits, "0") or "0")
