"""The one interface every PSP adapter implements, its value types and its exceptions.

Only adapters talk to providers; the payment services see nothing provider-specific.
Amounts are integers in the currency's minor unit; statuses are the provider's view mapped
to kadosei's vocabulary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# What a provider says about one payment, in kadosei's words.
PROVIDER_STATUSES = ("pending", "processing", "succeeded", "failed", "canceled", "expired")


class ProviderError(Exception):
    """The provider's API failed (5xx, refused, unusable answer): fail over to the next."""

    code = "provider_error"


class ProviderTimeout(ProviderError):
    """No answer within the adapter's timeout: fail over to the next."""

    code = "provider_timeout"


class ProviderBadRequest(ProviderError):
    """The provider refused the request as invalid (a 4xx): another provider may accept it."""

    code = "provider_bad_request"


class PaymentUnderWay(ProviderError):
    """The provider cannot expire/cancel the checkout: the customer is already paying."""

    code = "payment_under_way"


class InvalidNotification(Exception):
    """A notification whose signature or shape does not verify: answer 400, change nothing."""


@dataclass(frozen=True)
class Fee:
    """A provider's price for one method: a percentage plus a fixed part in EUR cents."""

    percent: float
    fixed_eur_cents: int

    def fixed_in(self, currency_exponent: int) -> int:
        """The fixed part in the payment currency's minor units (scaled by its exponent)."""
        return round(self.fixed_eur_cents * 10 ** (currency_exponent - 2))


@dataclass(frozen=True)
class Capabilities:
    """What a provider supports and what it costs."""

    modes: frozenset[str]
    methods: frozenset[str]
    # None: every ISO 4217 currency; otherwise the set it accepts (per method below overrides).
    currencies: frozenset[str] | None
    fees: Mapping[str, Fee]
    method_currencies: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def supports(self, mode: str, method: str, currency: str) -> bool:
        if mode not in self.modes or method not in self.methods:
            return False
        allowed = self.method_currencies.get(method, self.currencies)
        return allowed is None or currency in allowed


@dataclass(frozen=True)
class CheckoutRequest:
    """Everything a provider needs to create its hosted checkout for one attempt."""

    attempt_id: str
    session_id: str
    mode: str
    amount: int
    currency: str
    payment_method: str
    return_url: str  # kadosei's own return URL for this attempt
    reference: str | None = None
    description: str | None = None
    customer_email: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class CheckoutResult:
    provider_reference: str
    hosted_url: str


@dataclass(frozen=True)
class PaymentStatus:
    """The provider's view of one payment."""

    provider_reference: str
    status: str  # one of PROVIDER_STATUSES
    failure_code: str | None = None
    failure_message: str | None = None
    raw: Mapping[str, object] = field(default_factory=dict)


class Provider(ABC):
    """A PSP adapter. Every outbound call has a timeout and raises only the errors above."""

    name: str
    display_name: str

    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def create_checkout(self, request: CheckoutRequest) -> CheckoutResult: ...

    @abstractmethod
    def get_status(self, provider_reference: str) -> PaymentStatus: ...

    @abstractmethod
    def expire_checkout(self, provider_reference: str) -> PaymentStatus:
        """End an unpaid checkout at the provider; ``PaymentUnderWay`` if payment started."""

    @abstractmethod
    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        """Verify the provider's signature and return what it reports, or raise
        ``InvalidNotification``."""

    def supports(self, mode: str, method: str, currency: str) -> bool:
        return self.capabilities().supports(mode, method, currency)
