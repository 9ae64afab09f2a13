"""Stripe through its official SDK: Checkout Sessions in payment mode (docs/api.md §10).

One ``stripe.StripeClient`` per account, pointed at ``account.api_base`` when set, every call
with the account's timeout and no SDK retries (kadosei fails over instead). The checkout's
``provider_reference`` is the Checkout Session id (``cs_…``); its status comes from the session
and its PaymentIntent. Notifications are verified with the ``Stripe-Signature`` scheme
(``stripe.WebhookSignature``, 5 minutes' tolerance) before anything is parsed. No credential
ever reaches a log line or an exception message: SDK errors are mapped by type and code only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import stripe

from kadosei.providers.accounts import fees_with_defaults
from kadosei.providers.base import (
    Capabilities,
    CheckoutRequest,
    CheckoutResult,
    Decline,
    Fee,
    InvalidNotification,
    NotificationFacts,
    PaymentStatus,
    PaymentUnderWay,
    Provider,
    ProviderAccount,
    ProviderBadRequest,
    ProviderError,
    RefundRequest,
    RefundStatus,
)
from kadosei.providers.failures import SdkFailure, provider_call, refused, unreachable, unusable

# The SDK's own logger writes request bodies and Stripe's error messages (which quote part of
# the key) at INFO/DEBUG: kadosei logs its own lines instead.
logging.getLogger("stripe").setLevel(logging.WARNING)

SIGNATURE_TOLERANCE_SECONDS = 300
# What Stripe takes by default (stripe.com/docs/payments/payment-methods/overview and
# stripe.com/docs/currencies): the methods kadosei knows, the currencies per method, and the
# European standard pricing (stripe.com/pricing, EEA cards 1.5% + €0.25).
DEFAULT_METHODS = frozenset({"card", "ideal", "bancontact", "sepa_debit", "klarna", "paypal"})
DEFAULT_CURRENCIES = frozenset(
    {"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "AUD", "CAD"}
    | {"NZD", "JPY", "KRW", "SGD", "HKD", "KWD", "BHD", "JOD", "OMR", "TND"}
)
METHOD_CURRENCIES = {
    "ideal": frozenset({"EUR"}),
    "bancontact": frozenset({"EUR"}),
    "sepa_debit": frozenset({"EUR"}),
    "klarna": frozenset({"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK"}),
    "paypal": frozenset({"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK"}),
}
DEFAULT_FEES = {
    "card": Fee(1.5, 25),
    "ideal": Fee(0.0, 29),
    "bancontact": Fee(1.4, 25),
    "sepa_debit": Fee(0.0, 35),
    "klarna": Fee(2.99, 35),
    "paypal": Fee(3.49, 35),
}
# Stripe's three-decimal currencies: amounts must end in 0 (stripe.com/docs/currencies).
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

# Stripe's decline and error codes (the PaymentIntent's last_payment_error: decline_code, else
# code) in kadosei's words. retry_elsewhere: another provider may succeed.
DECLINES: dict[str, Decline] = {
    "generic_decline": Decline("card_declined", True, "The card was declined."),
    "card_declined": Decline("card_declined", True, "The card was declined."),
    "do_not_honor": Decline("card_declined", True, "The card was declined."),
    "insufficient_funds": Decline("insufficient_funds", False, "The card has insufficient funds."),
    "lost_card": Decline("stolen_card", False, "The card was reported lost."),
    "stolen_card": Decline("stolen_card", False, "The card was reported stolen."),
    "fraudulent": Decline("fraudulent", False, "The payment was refused as fraudulent."),
    "expired_card": Decline("expired_card", False, "The card has expired."),
    "incorrect_cvc": Decline("incorrect_cvc", False, "The card's security code is incorrect."),
    "incorrect_number": Decline("incorrect_number", False, "The card number is incorrect."),
    "processing_error": Decline(
        "processing_error", True, "The card could not be processed; try again."
    ),
    "authentication_required": Decline(
        "authentication_failed", False, "The card's authentication failed."
    ),
    "payment_intent_authentication_failure": Decline(
        "authentication_failed", False, "The card's authentication failed."
    ),
}
UNKNOWN_DECLINE = Decline("payment_failed", True, "The payment failed.")
# Checkout Session status (and payment_status) → kadosei status; "complete" and unpaid is
# decided by the PaymentIntent (processing, authorised for a later capture, failed).
SESSION_STATUSES = {"open": "pending", "expired": "expired"}
INTENT_STATUSES = {
    "succeeded": "succeeded",
    "processing": "processing",
    "requires_capture": "authorized",
    "canceled": "canceled",
    "requires_payment_method": "failed",
    "requires_action": "pending",
    "requires_confirmation": "pending",
}
REFUND_STATUSES = {
    "pending": "pending",
    "requires_action": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
}
SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
# Added to the return URL Stripe's cancel link goes to: the customer left the hosted page.
CANCELED_PARAMETER = "canceled"


class StripeProvider(Provider):
    """One Stripe account; ``display_name`` names the account ("Stripe (stripe_eu)")."""

    notification_ack = (200, '{"received": true}', "application/json")
    # A Checkout Session stays open after a declined card; expiring it ends it.
    ends_declined_checkout = True

    def __init__(self, account: ProviderAccount) -> None:
        self.account = account
        self.name = account.name
        self.display_name = f"Stripe ({account.name})"
        self._webhook_secret = account.credentials["webhook_secret"]
        bases = {"api": account.api_base} if account.api_base else None
        self._client = stripe.StripeClient(
            account.credentials["secret_key"],
            base_addresses=bases,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=account.timeout_seconds),
        )
        methods = account.methods or DEFAULT_METHODS
        self._capabilities = Capabilities(
            modes=frozenset({account.mode}),
            methods=frozenset(methods),
            currencies=account.currencies or DEFAULT_CURRENCIES,
            fees=fees_with_defaults(DEFAULT_FEES, frozenset(methods), account.fees),
            method_currencies={}
            if account.currencies
            else {m: c for m, c in METHOD_CURRENCIES.items() if m in methods},
        )

    def __repr__(self) -> str:
        return f"<StripeProvider {self.name} ({self.account.mode})>"

    def capabilities(self) -> Capabilities:
        return self._capabilities

    def decline_table(self) -> Mapping[str, Decline]:
        return DECLINES

    def amount_ineligible_reason(self, amount: int, currency: str) -> str | None:
        if currency in THREE_DECIMAL and amount % 10:
            return f"{self.display_name} takes {currency} amounts only in whole hundredths (x0)"
        return None

    # -- checkout ------------------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> CheckoutResult:
        reason = self.amount_ineligible_reason(request.amount, request.currency)
        if reason:
            raise ProviderBadRequest(reason)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount,
                        "product_data": {
                            "name": request.description or request.reference or "Payment"
                        },
                    },
                    "quantity": 1,
                }
            ],
            "payment_method_types": [request.payment_method],
            "success_url": request.return_url,
            "cancel_url": _with_query(request.return_url, CANCELED_PARAMETER),
            "client_reference_id": request.attempt_id,
            "metadata": {
                "kadosei_attempt": request.attempt_id,
                "kadosei_session": request.session_id,
            },
            "payment_intent_data": {
                "capture_method": "manual" if request.capture_method == "manual" else "automatic",
                "metadata": {"kadosei_attempt": request.attempt_id},
            },
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        if request.expires_at is not None:
            params["expires_at"] = _stripe_expiry(request.expires_at.timestamp())
        session = self._call_plain(
            "create checkout",
            lambda: self._client.v1.checkout.sessions.create(
                params, {"idempotency_key": f"kadosei-{request.attempt_id}"}
            ),
        )
        if not session.get("url"):
            raise ProviderError(f"{self.display_name} answered without a hosted page")
        return CheckoutResult(provider_reference=session["id"], hosted_url=session["url"])

    def get_status(self, provider_reference: str) -> PaymentStatus:
        session = self._call(
            "read checkout",
            lambda: self._client.v1.checkout.sessions.retrieve(
                provider_reference, {"expand": ["payment_intent"]}
            ),
        )
        return session_status(_plain(session))

    def status_on_return(
        self, provider_reference: str, returned: Mapping[str, str]
    ) -> PaymentStatus:
        """A customer back through Stripe's cancel link leaves the Checkout Session open (Stripe
        expires it only at ``expires_at``): kadosei ends it, so it cannot be paid later, and
        reports it ``canceled``. What Stripe says always wins over the link taken."""
        status = self.get_status(provider_reference)
        if returned.get(CANCELED_PARAMETER) != "1" or status.status != "pending":
            return status
        ended = self.expire_checkout(provider_reference)
        return replace(ended, status="canceled") if ended.status == "expired" else ended

    def expire_checkout(self, provider_reference: str) -> PaymentStatus:
        try:
            session = self._call(
                "expire checkout",
                lambda: self._client.v1.checkout.sessions.expire(provider_reference),
            )
        except ProviderBadRequest:
            # No longer open: say how it ended (a payment whose notification was lost is
            # found here), unless the customer is still paying.
            status = self.get_status(provider_reference)
            if status.status != "pending":
                return status
            raise PaymentUnderWay(f"{self.display_name}: the customer is paying") from None
        return session_status(_plain(session))

    # -- notifications -------------------------------------------------------------------------

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        event = self.verified_event(body, headers)
        kind = event["type"]
        obj = event["data"]["object"]
        if kind in SESSION_EVENTS:
            if kind == "checkout.session.expired":
                return [session_status(obj)]
            if obj.get("payment_status") == "paid":
                return [session_status(obj)]
            # Completed but unpaid, or an async failure: the PaymentIntent says which.
            return [self.get_status(_text(obj.get("id")))]
        if kind == "payment_intent.payment_failed":
            session = self._session_of_intent(_text(obj.get("id")))
            if session is None:
                return []
            return [session_status({**session, "payment_intent": obj})]
        if kind in ("refund.created", "refund.updated"):
            return [refund_status(obj)]
        if kind == "charge.refunded":
            refunds = (obj.get("refunds") or {}).get("data") or []
            return [refund_status(r) for r in refunds if isinstance(r, dict)]
        return []  # an event kadosei does not act on: acknowledged all the same

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        for fact in self.read_notification(body, headers):
            if isinstance(fact, PaymentStatus):
                return fact
        raise InvalidNotification("the event reports no payment")

    def verified_event(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The event ``body`` holds, once its Stripe-Signature verifies; else
        ``InvalidNotification``."""
        header = next((v for k, v in headers.items() if k.lower() == "stripe-signature"), None)
        if not header:
            raise InvalidNotification("no Stripe-Signature header")
        try:
            payload = body.decode("utf-8")
            stripe.WebhookSignature.verify_header(
                payload, header, self._webhook_secret, SIGNATURE_TOLERANCE_SECONDS
            )
            event = json.loads(payload)
        except stripe.SignatureVerificationError:
            raise InvalidNotification("the Stripe-Signature does not verify") from None
        except (UnicodeDecodeError, ValueError):
            raise InvalidNotification("the event is not JSON") from None
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("type"), str)
            or not isinstance(event.get("data"), dict)
            or not isinstance(event["data"].get("object"), dict)
        ):
            raise InvalidNotification("the event has no type or object")
        return event

    def _session_of_intent(self, intent_id: str) -> dict[str, Any] | None:
        found = self._call(
            "find checkout",
            lambda: self._client.v1.checkout.sessions.list(
                {"payment_intent": intent_id, "limit": 1}
            ),
        )
        data = _plain(found).get("data") or []
        return data[0] if data else None

    # -- after the payment ---------------------------------------------------------------------

    def _intent_id(self, provider_reference: str) -> str:
        if provider_reference.startswith("pi_"):
            return provider_reference
        session = _plain(
            self._call(
                "read checkout",
                lambda: self._client.v1.checkout.sessions.retrieve(provider_reference),
            )
        )
        intent = session.get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        if not intent:
            raise ProviderBadRequest(f"{self.display_name}: nothing was paid on this checkout")
        return intent

    def capture(
        self, provider_reference: str, amount: int, currency: str, *, idempotency_key: str
    ) -> PaymentStatus:
        intent_id = self._intent_id(provider_reference)
        intent = self._call(
            "capture",
            lambda: self._client.v1.payment_intents.capture(
                intent_id, {"amount_to_capture": amount}, {"idempotency_key": idempotency_key}
            ),
        )
        return intent_status(provider_reference, _plain(intent))

    def void(self, provider_reference: str, *, idempotency_key: str) -> PaymentStatus:
        intent_id = self._intent_id(provider_reference)
        intent = self._call(
            "void",
            lambda: self._client.v1.payment_intents.cancel(
                intent_id, {}, {"idempotency_key": idempotency_key}
            ),
        )
        return intent_status(provider_reference, _plain(intent))

    def refund(self, request: RefundRequest) -> RefundStatus:
        params: dict[str, Any] = {
            "payment_intent": self._intent_id(request.provider_reference),
            "amount": request.amount,
            "metadata": {"kadosei_refund": request.refund_id},
        }
        if request.reason in REFUND_REASONS:
            params["reason"] = request.reason
        refund = self._call(
            "refund",
            lambda: self._client.v1.refunds.create(params, {"idempotency_key": request.refund_id}),
        )
        return refund_status(_plain(refund))

    def get_refund(self, provider_reference: str, provider_refund_reference: str) -> RefundStatus:
        refund = self._call(
            "read refund", lambda: self._client.v1.refunds.retrieve(provider_refund_reference)
        )
        return refund_status(_plain(refund))

    def check_credentials(self) -> None:
        """One harmless authenticated call (list one Checkout Session); ProviderError if the
        account cannot be used."""
        self._call("list checkouts", lambda: self._client.v1.checkout.sessions.list({"limit": 1}))

    def _call_plain(self, what: str, call: Any) -> dict[str, Any]:
        return _plain(self._call(what, call))

    # -- errors --------------------------------------------------------------------------------

    def _call(self, what: str, call: Any) -> Any:
        """Run one SDK call; every SDK error becomes the adapter's own, by type and code only
        (Stripe's messages can quote part of the key)."""
        with provider_call(self.display_name, what, _sdk_failure(self.display_name, what)):
            return call()


def _sdk_failure(display_name: str, what: str) -> SdkFailure:
    def read(exc: Exception) -> ProviderError | None:
        if isinstance(exc, stripe.APIConnectionError):
            return unreachable(display_name, what, exc.__cause__)
        if isinstance(exc, stripe.StripeError):
            return refused(display_name, what, exc.http_status or 0, exc.code or type(exc).__name__)
        if isinstance(exc, ValueError | KeyError | TypeError | AttributeError):
            return unusable(display_name, what, exc)
        return None

    return read


# -- Stripe's objects in kadosei's words -----------------------------------------------------


def session_status(session: Mapping[str, Any]) -> PaymentStatus:
    """A Checkout Session (its ``payment_intent`` expanded or not) as kadosei's status."""
    reference = _text(session.get("id"))
    intent = session.get("payment_intent")
    intent = intent if isinstance(intent, dict) else None
    state = session.get("status")
    if state == "complete" and session.get("payment_status") in ("paid", "no_payment_required"):
        captured = intent.get("amount_received") if intent else session.get("amount_total")
        return PaymentStatus(reference, "succeeded", raw=_raw(session), amount_captured=captured)
    if state == "complete" and intent is not None:
        return intent_status(reference, intent)
    if state == "complete":
        return PaymentStatus(reference, "processing", raw=_raw(session))
    if state == "open" and intent is not None and intent.get("last_payment_error"):
        return intent_status(reference, intent)  # a decline while the page stays open
    if state in SESSION_STATUSES:
        return PaymentStatus(reference, SESSION_STATUSES[state], raw=_raw(session))
    raise ProviderError(f"Stripe reported an unknown checkout status {state!r}")


def intent_status(reference: str, intent: Mapping[str, Any]) -> PaymentStatus:
    state = INTENT_STATUSES.get(intent.get("status"))
    if state is None:
        raise ProviderError(f"Stripe reported an unknown payment status {intent.get('status')!r}")
    raw = {"payment_intent": intent.get("id"), "status": intent.get("status")}
    if state == "failed":
        error = intent.get("last_payment_error") or {}
        decline = DECLINES.get(error.get("decline_code") or error.get("code") or "")
        decline = decline or UNKNOWN_DECLINE
        return PaymentStatus(
            reference,
            "failed",
            failure_code=decline.code,
            failure_message=decline.message,
            raw=raw,
            retry_elsewhere=decline.retry_elsewhere,
        )
    captured = intent.get("amount_received") if state == "succeeded" else None
    return PaymentStatus(reference, state, raw=raw, amount_captured=captured)


def refund_status(refund: Mapping[str, Any]) -> RefundStatus:
    state = REFUND_STATUSES.get(refund.get("status"), "pending")
    metadata = refund.get("metadata") or {}
    failure = refund.get("failure_reason") if state == "failed" else None
    return RefundStatus(
        provider_refund_reference=_text(refund.get("id")),
        status=state,
        provider_reference=refund.get("payment_intent"),
        refund_id=metadata.get("kadosei_refund"),
        failure_code="refund_failed" if state == "failed" else None,
        failure_message=f"Stripe: {failure}" if failure else None,
        raw={"refund": refund.get("id"), "status": refund.get("status")},
    )


def _with_query(url: str, parameter: str) -> str:
    """``url`` with ``parameter=1`` added to its query."""
    return f"{url}{'&' if '?' in url else '?'}{parameter}=1"


def _stripe_expiry(at: float) -> int:
    """Stripe takes a Checkout Session expiry between 30 minutes and 24 hours from now; a
    shorter kadosei expiry is enforced by kadosei (it expires the checkout itself)."""
    now = time.time()
    return int(min(max(at, now + 31 * 60), now + 24 * 3600 - 60))


def _plain(obj: Any) -> dict[str, Any]:
    """An SDK object as plain JSON data."""
    if isinstance(obj, dict):
        return obj
    return obj.to_dict()


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidNotification("the event's object has no id")
    return value


def _raw(session: Mapping[str, Any]) -> dict[str, Any]:
    return {"checkout_session": session.get("id"), "status": session.get("status")}
