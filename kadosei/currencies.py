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
