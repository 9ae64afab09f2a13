"""The one interface every PSP adapter implements, its value types and its exceptions.

Only adapters talk to providers; the payment services see nothing provider-specific.
Amounts are integers in the currency's minor unit; statuses are the provider's view mapped
to kadosei's vocabulary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps

from kadosei.metrics import provider_call

# What a provider says about one payment, in kadosei's words. ``authorized``: funds held for
# a later capture (``capture_method: manual``, docs/api.md §4.2).
PROVIDER_STATUSES = (
    "pending",
    "processing",
    "authorized",
    "succeeded",
    "failed",
    "canceled",
    "expired",
)
# What a provider says about one refund.
REFUND_STATUSES = ("pending", "succeeded", "failed")


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


class OperationUnsupported(ProviderError):
    """This adapter cannot do that (e.g. a partial capture at a provider without them)."""

    code = "operation_unsupported"


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

    def amount_ineligible_reason(self, amount: int, currency: str) -> str | None:
        """Why this provider cannot take exactly ``amount`` (minor units) of ``currency``, in
        words for an explanation; None if it can (e.g. Stripe's three-decimal amounts must
        end in 0)."""
        return None

    def supports(self, mode: str, method: str, currency: str) -> bool:
        if mode not in self.modes or method not in self.methods:
            return False
        allowed = self.method_currencies.get(method, self.currencies)
        return allowed is None or currency in allowed


@dataclass(frozen=True)
class Decline:
    """One row of an adapter's decline table: a provider's refusal in kadosei's words.

    ``retry_elsewhere``: another provider may succeed where this one declined (a processing
    error, a timeout, a generic or provider-side refusal), so a retry passes this provider
    over; ``False`` for what the issuer or the customer decides (insufficient funds, a stolen
    card), which no other provider would change.
    """

    code: str
    retry_elsewhere: bool
    message: str


@dataclass(frozen=True)
class ProviderAccount:
    """One configured account at a PSP (docs/api.md §10), credentials already resolved.

    ``credentials`` hold the secret values; they are never stored, logged or shown, and the
    account's ``repr`` leaves them out.
    """

    name: str
    type: str
    mode: str
    credentials: Mapping[str, str] = field(repr=False)
    methods: frozenset[str] | None = None  # None: what the adapter knows the provider takes
    currencies: frozenset[str] | None = None
    fees: Mapping[str, Fee] | None = None  # by method, "*" for the rest; None: adapter's list
    api_base: str | None = None
    timeout_seconds: float = 10.0


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
    # The shop's name as its customers know it, for a hosted page that shows whom they pay.
    shop_name: str | None = None
    expires_at: datetime | None = None
    # Where the provider sends its notifications for this payment (Mollie takes it per payment).
    notification_url: str | None = None
    capture_method: str = "automatic"  # or "manual": authorise now, capture later


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
    # From the adapter's decline table: may another provider succeed? (None: not a decline)
    retry_elsewhere: bool | None = None
    amount_captured: int | None = None  # what the provider took, when it says
    # The provider's own id of the payment when it differs from the checkout's reference
    # (Adyen: the pspReference a session's payment gets); capture/void/refund take it there.
    payment_reference: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    """Send ``amount`` of a paid payment back through the provider that took it."""

    refund_id: str  # kadosei's re_…, also the idempotency key at the provider
    provider_reference: str  # the payment's reference at the provider
    amount: int
    currency: str
    reason: str | None = None


@dataclass(frozen=True)
class RefundStatus:
    """The provider's view of one refund."""

    provider_refund_reference: str
    status: str  # one of REFUND_STATUSES
    provider_reference: str | None = None  # the payment it belongs to, when the provider says
    refund_id: str | None = None  # kadosei's re_…, when the provider echoes it back
    failure_code: str | None = None
    failure_message: str | None = None
    raw: Mapping[str, object] = field(default_factory=dict)


# What one verified notification reports: payments and refunds (possibly none: an event
# kadosei does not act on, acknowledged all the same).
NotificationFacts = list[PaymentStatus | RefundStatus]


# The calls that reach a provider's API: each is timed and counted by provider, operation and
# outcome (``kadosei_provider_call_duration_seconds``), whichever adapter defines it.
METERED_OPERATIONS = (
    "create_checkout",
    "get_status",
    "expire_checkout",
    "capture",
    "void",
    "refund",
    "get_refund",
    "check_credentials",
)


def _metered(operation: str, method: Callable) -> Callable:
    @wraps(method)
    def call(self: Provider, *args, **kwargs):
        with provider_call(self.name, operation):
            return method(self, *args, **kwargs)

    call.__metered__ = True  # type: ignore[attr-defined]
    return call


class Provider(ABC):
    """A PSP adapter. Every outbound call has a timeout and raises only the errors above."""

    name: str
    display_name: str
    account: ProviderAccount | None = None  # the configured account; None for the sandboxes

    def __init_subclass__(cls, **kwargs) -> None:
        """Meter the API calls each adapter defines (``METERED_OPERATIONS``), once per class."""
        super().__init_subclass__(**kwargs)
        for operation in METERED_OPERATIONS:
            method = cls.__dict__.get(operation)
            if callable(method) and not getattr(method, "__metered__", False):
                setattr(cls, operation, _metered(operation, method))

    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def create_checkout(self, request: CheckoutRequest) -> CheckoutResult: ...

    @abstractmethod
    def get_status(self, provider_reference: str) -> PaymentStatus: ...

    def status_on_return(
        self, provider_reference: str, returned: Mapping[str, str]
    ) -> PaymentStatus:
        """The provider's view when the customer comes back. ``returned`` is the return URL's
        query: an adapter may use what the provider put there to ask it (Adyen's
        ``sessionResult``), never as the status itself. Default: ``get_status``."""
        return self.get_status(provider_reference)

    @abstractmethod
    def expire_checkout(self, provider_reference: str) -> PaymentStatus:
        """End an unpaid checkout at the provider; ``PaymentUnderWay`` if payment started."""

    @abstractmethod
    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        """Verify the provider's signature and return what it reports, or raise
        ``InvalidNotification``."""

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        """Every fact one verified notification reports; ``InvalidNotification`` otherwise.
        Adapters whose notifications carry several items, refunds or events kadosei ignores
        override it; the default is the one payment ``parse_notification`` returns."""
        return [self.parse_notification(body, headers)]

    # How the provider expects a notification to be acknowledged: (status, body, mimetype).
    notification_ack: tuple[int, str, str] = (200, '{"received": true}', "application/json")
    # Whether a checkout stays payable after a decline (the customer may try another card on
    # it) and ``expire_checkout`` can end it: kadosei ends it when the customer tries again
    # through kadosei instead (``session_expiry.end_declined_checkout``).
    ends_declined_checkout: bool = False

    def capture(
        self, provider_reference: str, amount: int, currency: str, *, idempotency_key: str
    ) -> PaymentStatus:
        """Capture ``amount`` (≤ the authorised amount) of an authorised payment."""
        raise OperationUnsupported(f"{self.display_name} cannot capture payments")

    def void(self, provider_reference: str, *, idempotency_key: str) -> PaymentStatus:
        """Release an authorisation that was not captured."""
        raise OperationUnsupported(f"{self.display_name} cannot void authorisations")

    def refund(self, request: RefundRequest) -> RefundStatus:
        """Start a refund (providers confirm it later: by notification or ``get_refund``)."""
        raise OperationUnsupported(f"{self.display_name} cannot refund payments")

    def get_refund(self, provider_reference: str, provider_refund_reference: str) -> RefundStatus:
        raise OperationUnsupported(f"{self.display_name} cannot look refunds up")

    def check_credentials(self) -> None:
        """One harmless authenticated call (e.g. list one object) proving the account's
        credentials work; a ``ProviderError`` saying why (never quoting a credential) if not."""
        raise OperationUnsupported(f"{self.display_name} has no credentials check")

    def decline_table(self) -> Mapping[str, Decline]:
        """The provider's decline and error codes mapped to kadosei's (one table per adapter)."""
        return {}

    def ineligible_reason(self, mode: str, method: str, currency: str) -> str | None:
        """Why this provider cannot take the payment, in words for an explanation; None if it
        can. Adapters add their own rules (e.g. an amount a currency cannot express)."""
        if self.capabilities().supports(mode, method, currency):
            return None
        return f"{self.display_name} does not take {method} in {currency} in {mode} mode"

    def amount_ineligible_reason(self, amount: int, currency: str) -> str | None:
        """Why this provider cannot take exactly ``amount`` (minor units) of ``currency``, in
        words for an explanation; None if it can (e.g. Stripe's three-decimal amounts must
        end in 0)."""
        return None

    def supports(self, mode: str, method: str, currency: str) -> bool:
        return self.capabilities().supports(mode, method, currency)
