"""Mollie (Payments API v2) through its official SDK, ``mollie-api-python``.

A checkout is a payment whose ``_links.checkout`` is the hosted page. Mollie's webhook carries
only ``id=tr_…`` and no signature, so a notification is verified by fetching that payment
from the API with the account's key: only what the API answers is trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from mollie.api.client import Client
from mollie.api.error import Error as MollieSdkError
from mollie.api.error import IdentifierError, RequestError, ResponseError
from mollie.api.objects.payment import Payment
from mollie.api.objects.refund import Refund

from kadosei.currencies import is_currency, minor_unit
from kadosei.providers.amounts import from_decimal_string, to_decimal_string
from kadosei.providers.base import (
    Capabilities,
    CheckoutRequest,
    CheckoutResult,
    Decline,
    Fee,
    InvalidNotification,
    NotificationFacts,
    OperationUnsupported,
    PaymentStatus,
    PaymentUnderWay,
    Provider,
    ProviderAccount,
    ProviderBadRequest,
    ProviderError,
    RefundRequest,
    RefundStatus,
)
from kadosei.providers.failures import provider_call, refused, unreachable, unusable

# kadosei's method → Mollie's ``method``. SEPA Direct Debit is absent on purpose: Mollie's
# ``directdebit`` cannot be a first payment through the hosted checkout (it needs a mandate,
# docs.mollie.com/docs/sepa-direct-debit), so Mollie never takes kadosei's ``sepa_debit``.
METHODS = {
    "card": "creditcard",
    "ideal": "ideal",
    "bancontact": "bancontact",
    "paypal": "paypal",
    "klarna": "klarna",
}
# Methods Mollie can authorise now and capture later
# (docs.mollie.com/docs/place-a-hold-for-a-payment).
MANUAL_CAPTURE_METHODS = frozenset({"card", "klarna"})


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Mollie's multicurrency table (docs.mollie.com/docs/multicurrency): per method, what it takes.
_CARD_CURRENCIES = _codes(
    "AED AUD BGN BRL CAD CHF CZK DKK EUR GBP HKD HUF ILS ISK "
    "JPY MXN MYR NOK NZD PHP PLN RON SEK SGD THB TWD USD ZAR"
)
_PAYPAL_CURRENCIES = _codes(
    "AUD BRL CAD CHF CZK DKK EUR GBP HKD HUF ILS JPY MXN MYR NOK NZD PHP PLN SEK SGD THB TWD USD"
)
METHOD_CURRENCIES = {
    "card": _CARD_CURRENCIES,
    "ideal": frozenset({"EUR"}),
    "bancontact": frozenset({"EUR"}),
    "paypal": _PAYPAL_CURRENCIES,
    "klarna": frozenset({"EUR", "GBP", "DKK", "NOK", "SEK", "CHF"}),
}
# Mollie's published prices (www.mollie.com/pricing, EEA, Dec 2026): percent + EUR cents.
FEES = {
    "card": Fee(1.8, 25),
    "ideal": Fee(0.0, 29),
    "bancontact": Fee(1.4, 25),
    "paypal": Fee(0.0, 10),
    "klarna": Fee(2.99, 35),
}

# Mollie's payment status → kadosei's (docs.mollie.com/docs/status-change).
STATUSES = {
    "open": "pending",
    "pending": "processing",
    "authorized": "authorized",
    "paid": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
    "expired": "expired",
}
# Mollie's refund status → kadosei's (docs.mollie.com/reference/get-refund).
REFUND_STATUSES = {
    "queued": "pending",
    "pending": "pending",
    "processing": "pending",
    "refunded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
}

# ``details.failureReason`` of a failed payment (docs.mollie.com/reference/get-payment) →
# kadosei's failure code; "" is a failure without a reason (e.g. a bank method).
DECLINES: Mapping[str, Decline] = {
    "authentication_abandoned": Decline(
        "authentication_failed", False, "You left the card verification before it finished."
    ),
    "authentication_failed": Decline(
        "authentication_failed", False, "Your card could not be verified by your bank."
    ),
    "authentication_required": Decline(
        "authentication_failed", True, "Your bank asked for a verification that was not done."
    ),
    "authentication_unavailable_acs": Decline(
        "authentication_failed", True, "Your bank's verification service was unavailable."
    ),
    "card_declined": Decline("card_declined", True, "Your card was declined."),
    "card_expired": Decline("expired_card", False, "Your card has expired."),
    "inactive_card": Decline("card_declined", False, "Your card is not active."),
    "insufficient_funds": Decline("insufficient_funds", False, "Your card has insufficient funds."),
    "invalid_cvv": Decline("incorrect_cvc", False, "The card's security code is incorrect."),
    "invalid_card_holder_name": Decline(
        "invalid_card_details", False, "The card holder's name is incorrect."
    ),
    "invalid_card_number": Decline("incorrect_number", False, "The card number is incorrect."),
    "invalid_card_type": Decline(
        "card_not_supported", True, "This type of card is not accepted here."
    ),
    "possible_fraud": Decline("fraudulent", False, "Your card was declined."),
    "refused_by_issuer": Decline("card_declined", False, "Your bank refused the payment."),
    "unknown_reason": Decline(
        "processing_error", True, "The payment could not be processed. Please try again."
    ),
    "": Decline("payment_failed", True, "The payment did not go through."),
}
_UNLISTED = DECLINES["unknown_reason"]

_PAYMENT_ID = re.compile(r"tr_[A-Za-z0-9]{5,32}")
_MAX_NOTIFICATION_BYTES = 256


class MollieProvider(Provider):
    """One Mollie account (its API key decides test or live at Mollie)."""

    notification_ack = (200, "", "text/plain")

    def __init__(self, account: ProviderAccount) -> None:
        api_key = (account.credentials.get("api_key") or "").strip()
        # Checked here rather than by the SDK, whose error message repeats the key.
        if not re.fullmatch(r"(live|test)_\w+", api_key):
            raise ValueError(f"Mollie account {account.name}: api_key is not a Mollie API key")
        if api_key.split("_", 1)[0] != ("live" if account.mode == "live" else "test"):
            raise ValueError(
                f"Mollie account {account.name}: a {account.mode}-mode account needs a "
                f"{'live_' if account.mode == 'live' else 'test_'} API key"
            )
        self.account = account
        self.name = account.name
        self.display_name = f"Mollie ({account.name})"
        # One SDK client (one requests session) per account; no retries behind our back.
        self._client = Client(
            api_endpoint=account.api_base or "", timeout=account.timeout_seconds, retry=0
        )
        self._client.set_api_key(api_key)
        self._secret = api_key
        self._capabilities = _capabilities_of(account)

    # -- what Mollie takes ---------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return self._capabilities

    def decline_table(self) -> Mapping[str, Decline]:
        return DECLINES

    def ineligible_reason(self, mode: str, method: str, currency: str) -> str | None:
        if not is_currency(currency):
            return f"{currency} is not a currency {self.display_name} knows"
        if method not in METHODS:
            return f"{self.display_name} cannot take {method} through its hosted checkout"
        if minor_unit(currency) > 2:
            return f"{self.display_name} cannot take {currency}: Mollie has no 3-decimal amounts"
        return super().ineligible_reason(mode, method, currency)

    # -- kadosei → Mollie ----------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> CheckoutResult:
        if request.payment_method not in METHODS:
            raise OperationUnsupported(f"{self.display_name} cannot take {request.payment_method}")
        manual = request.capture_method == "manual"
        if manual and request.payment_method not in MANUAL_CAPTURE_METHODS:
            raise OperationUnsupported(
                f"{self.display_name} cannot hold {request.payment_method} for a later capture"
            )
        data: dict[str, Any] = {
            "amount": _money(request.amount, request.currency),
            "description": _description(request),
            "redirectUrl": request.return_url,
            "method": METHODS[request.payment_method],
            "metadata": {
                "kadosei_attempt": request.attempt_id,
                "kadosei_session": request.session_id,
            },
        }
        if request.notification_url:
            data["webhookUrl"] = request.notification_url
        if manual:
            data["captureMode"] = "manual"
        with self._calling("create the payment"):
            payment = self._client.payments.create(data, idempotency_key=request.attempt_id)
            reference, hosted_url = payment["id"], payment.checkout_url
        if not hosted_url:
            raise ProviderError(f"{self.display_name} answered a payment without a checkout URL")
        return CheckoutResult(provider_reference=reference, hosted_url=hosted_url)

    def get_status(self, provider_reference: str) -> PaymentStatus:
        return _payment_status(self._fetch(provider_reference))

    def expire_checkout(self, provider_reference: str) -> PaymentStatus:
        payment = self._fetch(provider_reference)
        if payment.status not in ("open", "pending"):
            return _payment_status(payment)  # already ended (or held): report it as it is
        if not payment.is_cancelable:
            # Mollie cannot cancel an open card payment: the customer may be paying right now.
            raise PaymentUnderWay(f"{self.display_name} cannot cancel {provider_reference} now")
        with self._calling("cancel the payment"):
            canceled = _payment_status(self._client.payments.delete(provider_reference))
        if canceled.status == "canceled":  # ended by kadosei, not by the customer
            return replace(canceled, status="expired")
        return canceled

    def capture(
        self, provider_reference: str, amount: int, currency: str, *, idempotency_key: str
    ) -> PaymentStatus:
        with self._calling("capture the payment"):
            self._payment_ref(provider_reference).captures.create(
                {"amount": _money(amount, currency)}, idempotency_key=idempotency_key
            )
        return self.get_status(provider_reference)

    def void(self, provider_reference: str, *, idempotency_key: str) -> PaymentStatus:
        """Release the authorisation (docs.mollie.com/reference/release-authorization): Mollie
        accepts it (202) and the payment becomes ``canceled``, possibly a little later; the
        status returned is the payment's as the API tells it right after."""
        self._payment_ref(provider_reference)
        with self._calling("release the authorisation"):
            self._client.payments.release_authorization(
                provider_reference, idempotency_key=idempotency_key
            )
        return self.get_status(provider_reference)

    def refund(self, request: RefundRequest) -> RefundStatus:
        data = {
            "amount": _money(request.amount, request.currency),
            "description": (request.reason or f"Refund {request.refund_id}")[:255],
            "metadata": {"kadosei_refund": request.refund_id},
        }
        with self._calling("refund the payment"):
            refund = self._payment_ref(request.provider_reference).refunds.create(
                data, idempotency_key=request.refund_id
            )
        return _refund_status(refund)

    def get_refund(self, provider_reference: str, provider_refund_reference: str) -> RefundStatus:
        with self._calling("look the refund up"):
            refund = self._payment_ref(provider_reference).refunds.get(provider_refund_reference)
        return _refund_status(refund)

    def check_credentials(self) -> None:
        """One harmless authenticated call (list one payment); ProviderError if the key does
        not work."""
        with self._calling("list payments"):
            self._client.payments.list(limit=1)

    # -- Mollie → kadosei ----------------------------------------------------------------------

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        return self.read_notification(body, headers)[0]  # type: ignore[return-value]

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        """The payment as the API tells it, and each of its refunds (Mollie calls the payment's
        webhook when a refund changes too)."""
        payment = self._verified_payment(body)
        try:
            facts: NotificationFacts = [_payment_status(payment)]
            if _has_refunds(payment):
                with self._calling("list the payment's refunds"):
                    refunds = list(payment.refunds.list())
                facts.extend(_refund_status(refund) for refund in refunds)
        except ProviderError as exc:  # not acknowledged, so Mollie calls again later
            raise InvalidNotification(f"could not read {payment['id']}: {exc}") from None
        return facts

    def _verified_payment(self, body: bytes) -> Payment:
        payment_id = _notified_payment_id(body)
        try:
            payment = self._fetch(payment_id)
        except ProviderError as exc:
            # A 404 (an id this account does not have) is a forgery; an outage is not, but an
            # unacknowledged webhook is one Mollie sends again later, so both answer 400.
            raise InvalidNotification(f"{payment_id} could not be verified: {exc}") from None
        if payment.get("id") != payment_id:
            raise InvalidNotification(f"{self.display_name} answered another payment")
        return payment

    # -- the SDK -------------------------------------------------------------------------------

    def _fetch(self, provider_reference: str) -> Payment:
        self._payment_ref(provider_reference)  # only a well-formed id goes into the URL
        with self._calling("fetch the payment"):
            return self._client.payments.get(provider_reference)

    def _payment_ref(self, provider_reference: str) -> Payment:
        """A payment known only by its id, for the SDK's sub-resources (no API call)."""
        if not _PAYMENT_ID.fullmatch(provider_reference or ""):
            raise ProviderBadRequest(f"{provider_reference!r} is not a Mollie payment id")
        return Payment({"id": provider_reference}, self._client)

    def _calling(self, what: str) -> AbstractContextManager[None]:
        """Every SDK call: Mollie's errors become the adapter's, never with the key in them."""
        return provider_call(self.display_name, what, partial(self._sdk_failure, what))

    def _sdk_failure(self, what: str, exc: Exception) -> ProviderError | None:
        if isinstance(exc, ResponseError):
            status = exc.status if isinstance(exc.status, int) else 0
            return refused(self.display_name, what, status, self._redacted(str(exc)))
        if isinstance(exc, IdentifierError):
            return ProviderBadRequest(f"{self.display_name} could not {what}: bad id")
        if isinstance(exc, RequestError):
            return unreachable(self.display_name, what, exc.__context__)
        if isinstance(exc, MollieSdkError | KeyError | TypeError | ValueError):
            return unusable(self.display_name, what, exc)
        return None

    def _redacted(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]")


def _capabilities_of(account: ProviderAccount) -> Capabilities:
    methods = frozenset(METHODS) if account.methods is None else account.methods & set(METHODS)
    per_method = {} if account.currencies is not None else METHOD_CURRENCIES
    return Capabilities(
        modes=frozenset({account.mode}),
        methods=methods,
        currencies=account.currencies or frozenset().union(*METHOD_CURRENCIES.values()),
        fees=dict(account.fees) if account.fees is not None else FEES,
        method_currencies={m: c for m, c in per_method.items() if m in methods},
    )


def _money(amount: int, currency: str) -> dict[str, str]:
    """Mollie's amount object: the value with exactly the currency's decimals."""
    return {"currency": currency, "value": to_decimal_string(amount, currency)}


def _description(request: CheckoutRequest) -> str:
    """Mollie requires a description (≤ 255 characters); shown to the customer."""
    text = (request.description or request.reference or "").strip()
    return (text or f"Payment {request.session_id}")[:255]


def _notified_payment_id(body: bytes) -> str:
    """The ``tr_…`` of a Mollie webhook (``id=tr_…``, form-encoded), nothing else accepted."""
    if not body or len(body) > _MAX_NOTIFICATION_BYTES:
        raise InvalidNotification("not a Mollie webhook body")
    try:
        fields = parse_qs(body.decode("ascii"), strict_parsing=True, max_num_fields=1)
    except (UnicodeDecodeError, ValueError):
        raise InvalidNotification("not a Mollie webhook body") from None
    ids = fields.get("id")
    if set(fields) != {"id"} or ids is None or len(ids) != 1:
        raise InvalidNotification("a Mollie webhook carries exactly one id")
    if not _PAYMENT_ID.fullmatch(ids[0]):
        raise InvalidNotification("the webhook's id is not a Mollie payment id")
    return ids[0]


def _payment_status(payment: Payment) -> PaymentStatus:
    """Mollie's payment in kadosei's words; an answer that does not fit is a ProviderError."""
    raw_status = payment.get("status")
    if raw_status not in STATUSES:
        raise ProviderError(f"Mollie answered an unknown payment status {raw_status!r}")
    status = STATUSES[raw_status]
    decline = None
    if status == "failed":
        reason = (payment.get("details") or {}).get("failureReason") or ""
        decline = DECLINES.get(reason, _UNLISTED)
    return PaymentStatus(
        provider_reference=payment["id"],
        status=status,
        failure_code=decline.code if decline else None,
        failure_message=decline.message if decline else None,
        retry_elsewhere=decline.retry_elsewhere if decline else None,
        raw=dict(payment),
        amount_captured=_captured(payment, status),
    )


def _captured(payment: Payment, status: str) -> int | None:
    amount = payment.get("amountCaptured")
    if amount is None and status == "succeeded":
        amount = payment.get("amount")
    if not amount:
        return None
    try:
        return from_decimal_string(amount["value"], amount["currency"])
    except (KeyError, TypeError, ValueError):
        raise ProviderError("Mollie answered an unusable amount") from None


def _has_refunds(payment: Payment) -> bool:
    """Mollie links a payment's refunds once there are any, and counts them in amountRefunded."""
    if payment.get("_links", {}).get("refunds"):
        return True
    try:
        return Decimal((payment.get("amountRefunded") or {}).get("value") or "0") > 0
    except (ArithmeticError, AttributeError, TypeError):
        return False


def _refund_status(refund: Refund) -> RefundStatus:
    raw_status = refund.get("status")
    if raw_status not in REFUND_STATUSES or not refund.get("id"):
        raise ProviderError(f"Mollie answered an unusable refund (status {raw_status!r})")
    status = REFUND_STATUSES[raw_status]
    metadata = refund.get("metadata") if isinstance(refund.get("metadata"), dict) else {}
    return RefundStatus(
        provider_refund_reference=refund["id"],
        status=status,
        provider_reference=refund.get("paymentId"),
        refund_id=metadata.get("kadosei_refund"),
        failure_code="refund_failed" if status == "failed" else None,
        failure_message=f"Mollie reports the refund as {raw_status}"
        if status == "failed"
        else None,
        raw=dict(refund),
    )
