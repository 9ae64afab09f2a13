"""The three sandbox PSPs as their price lists describe them: what each accepts (methods,
currencies, test mode only) and what it charges. Their API refuses anything else; kadosei's
adapters read these lists as a merchant reads a PSP's published pricing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Price:
    """A percentage of the amount plus a fixed part in EUR cents."""

    percent: float
    fixed_eur_cents: int


@dataclass(frozen=True)
class Psp:
    """One sandbox PSP: its name (as kadosei knows it), brand and price list."""

    name: str
    display_name: str
    tagline: str
    methods: frozenset[str]
    # None: every ISO 4217 currency; otherwise the set it accepts (per method below overrides).
    currencies: frozenset[str] | None
    prices: Mapping[str, Price]
    method_currencies: Mapping[str, frozenset[str]] = field(default_factory=dict)
    modes: frozenset[str] = frozenset({"test"})

    def accepts(self, mode: str, method: str, currency: str) -> bool:
        if mode not in self.modes or method not in self.methods:
            return False
        allowed = self.method_currencies.get(method, self.currencies)
        return allowed is None or currency in allowed

    def currencies_for(self, method: str) -> frozenset[str] | None:
        return self.method_currencies.get(method, self.currencies)


EUR = frozenset({"EUR"})

LUMEN = Psp(
    name="sandbox_lumen",
    display_name="Lumen",
    tagline="Cards in every currency, Europe's bank methods and Klarna.",
    methods=frozenset({"card", "ideal", "bancontact", "sepa_debit", "klarna"}),
    currencies=None,  # card: every ISO 4217 currency
    prices={
        "card": Price(1.5, 25),
        "ideal": Price(0.0, 29),
        "bancontact": Price(1.4, 25),
        "sepa_debit": Price(0.0, 35),
        "klarna": Price(2.99, 35),
    },
    method_currencies={
        "ideal": EUR,
        "bancontact": EUR,
        "sepa_debit": EUR,
        "klarna": frozenset(
            {"AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "NOK", "NZD", "PLN", "RON", "SEK"}
            | {"USD"}
        ),
    },
)

HARBOR = Psp(
    name="sandbox_harbor",
    display_name="Harbor",
    tagline="Every method, cards in about forty currencies, Adyen-style notifications.",
    methods=frozenset({"card", "ideal", "bancontact", "sepa_debit", "paypal", "klarna"}),
    currencies=frozenset(
        {"AED", "AUD", "BHD", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK"}
        | {"EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KRW", "KWD", "MXN"}
        | {"MYR", "NOK", "NZD", "PEN", "PHP", "PLN", "QAR", "RON", "SAR", "SEK", "SGD", "THB"}
        | {"TRY", "TWD", "USD", "ZAR"}
    ),
    prices={
        "card": Price(1.2, 11),
        "ideal": Price(0.0, 21),
        "bancontact": Price(0.0, 25),
        "sepa_debit": Price(0.0, 27),
        "paypal": Price(2.9, 30),
        "klarna": Price(3.29, 30),
    },
    method_currencies={
        "ideal": EUR,
        "bancontact": EUR,
        "sepa_debit": EUR,
        "paypal": frozenset(
            {"AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "JPY", "NOK", "NZD", "PLN"}
            | {"SEK", "SGD", "USD"}
        ),
        "klarna": frozenset({"CHF", "DKK", "EUR", "GBP", "NOK", "SEK", "USD"}),
    },
)

ORBIT = Psp(
    name="sandbox_orbit",
    display_name="Orbit",
    tagline="Cards in the major currencies, PayPal and SEPA Direct Debit.",
    methods=frozenset({"card", "paypal", "sepa_debit"}),
    currencies=frozenset(
        {"AED", "AUD", "BHD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "JPY"}
        | {"KWD", "NOK", "NZD", "PLN", "SAR", "SEK", "SGD", "USD", "ZAR"}
    ),
    prices={
        "card": Price(0.95, 20),
        "paypal": Price(2.49, 35),
        "sepa_debit": Price(0.0, 20),
    },
    method_currencies={
        "paypal": frozenset(
            {"AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS"}
            | {"JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD"}
        ),
        "sepa_debit": EUR,
    },
)

# In the order kadosei's registry and the back office list them.
PSPS: tuple[Psp, ...] = (LUMEN, HARBOR, ORBIT)
_BY_NAME = {psp.name: psp for psp in PSPS}
# The payment methods, in the order the back office shows them.
METHOD_ORDER = ("card", "ideal", "bancontact", "sepa_debit", "paypal", "klarna")


def get_psp(name: str) -> Psp | None:
    return _BY_NAME.get(name)


def psp_names() -> list[str]:
    return [psp.name for psp in PSPS]
