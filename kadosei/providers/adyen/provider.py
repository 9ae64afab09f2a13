"""The Adyen adapter class (see the package docstring for its design)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC
from functools import partial
from typing import Any
from urllib.parse import quote

import Adyen
from Adyen.exceptions import AdyenAPIResponseError, AdyenError

from kadosei.providers.adyen.notifications import fact_of, verified_items
from kadosei.providers.adyen.tables import (
    DECLINES,
    DEFAULT_FEES,
    METHOD_CURRENCIES,
    METHOD_TYPES,
    NOT_EXACT,
    SESSION_STATUSES,
    to_adyen_amount,
)
from kadosei.providers.base import (
    Capabilities,
    CheckoutRequest,
    CheckoutResult,
    Decline,
    InvalidNotification,
    NotificationFacts,
    PaymentStatus,
    Provider,
    ProviderAccount,
    ProviderBadRequest,
    ProviderError,
    RefundRequest,
    RefundStatus,
)
from kadosei.providers.failures import provider_call, refused

NOTIFICATION_ACK = (200, "[accepted]", "text/plain")


class AdyenProvider(Provider):
    """One Adyen merchant account (credentials: api_key, merchant_account, hmac_key and,
    for live mode, live_url_prefix)."""

    notification_ack = NOTIFICATION_ACK
    # An Adyen session stays payable after a refusal too, but Adyen cannot end a session early
    # (``expire_checkout`` only says so locally): when the customer tries again the declined
    # session is left to lapse at its ``expiresAt``. A payment made there meanwhile is flagged
    # ``conflict`` (captured) or voided (a manual hold, ``services/late_holds``).
    ends_declined_checkout = False

    def __init__(self, account: ProviderAccount) -> None:
        self.account = account
        self.name = account.name
        self.display_name = f"Adyen ({account.name})"
        credentials = account.credentials
        self._merchant_account = credentials.get("merchant_account", "")
        self._hmac_key = credentials.get("hmac_key", "")
        live = account.mode == "live"
        self._client = Adyen.Adyen(
            xapikey=credentials.get("api_key", ""),
            platform="live" if live else "test",
            live_endpoint_prefix=credentials.get("live_url_prefix") if live else None,
            http_timeout=account.timeout_seconds,
            http_force="requests",
        )
        self._payments = self._client.checkout.payments_api
        self._modifications = self._client.checkout.modifications_api
        if account.api_base:
            self._payments.baseUrl = account.api_base.rstrip("/")
            self._modifications.baseUrl = account.api_base.rstrip("/")

    # -- what it takes -----------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        account = self.account
        methods = account.methods if account.methods is not None else frozenset(METHOD_TYPES)
        per_method = METHOD_CURRENCIES if account.currencies is None else {}
        return Capabilities(
            modes=frozenset({account.mode}),  # an account serves one kadosei mode (§10)
            methods=methods & frozenset(METHOD_TYPES),
            currencies=account.currencies,
            fees=dict(account.fees) if account.fees is not None else DEFAULT_FEES,
            method_currencies={m: c for m, c in per_method.items() if m in methods},
        )

    def ineligible_reason(self, mode: str, method: str, currency: str) -> str | None:
        if currency in NOT_EXACT:
            return (
                f"{self.display_name} takes {currency} without decimals, "
                "so not every amount can be sent exactly"
            )
        return super().ineligible_reason(mode, method, currency)

    def supports(self, mode: str, method: str, currency: str) -> bool:
        return self.ineligible_reason(mode, method, currency) is None

    def decline_table(self) -> Mapping[str, Decline]:
        return DECLINES

    # -- kadosei → Adyen -----------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> CheckoutResult:
        body: dict[str, Any] = {
            "merchantAccount": self._merchant_account,
            "amount": self._amount(request.amount, request.currency),
            "reference": request.attempt_id,
            "returnUrl": request.return_url,
            "mode": "hosted",
            "allowedPaymentMethods": [METHOD_TYPES.get(request.payment_method, "scheme")],
            # Adyen echoes a session's metadata in its payment's notifications
            # (``additionalData["metadata.<key>"]``): how the AUTHORISATION item says manual.
            "metadata": {
                "kadosei_session": request.session_id,
                "capture_method": request.capture_method,
            },
        }
        if request.expires_at is not None:
            moment = request.expires_at
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            body["expiresAt"] = moment.astimezone(UTC).replace(microsecond=0).isoformat()
        if request.customer_email:
            body["shopperEmail"] = request.customer_email
        if request.description:
            body["merchantOrderReference"] = request.description[:80]
        if request.capture_method == "manual":
            body["additionalData"] = {"manualCapture": "true"}
        with self._mapped_errors("create the checkout session"):
            session = self._payments.sessions(body, idempotency_key=request.attempt_id).message
        try:
            return CheckoutResult(provider_reference=session["id"], hosted_url=session["url"])
        except (KeyError, TypeError):
            raise ProviderError("Adyen's session has no id or hosted url") from None

    def get_status(self, provider_reference: str) -> PaymentStatus:
        """``pending``: Adyen reports a session's payment by notification (module docstring)."""
        return PaymentStatus(provider_reference=provider_reference, status="pending")

    def session_status(self, session_id: str, session_result: str) -> PaymentStatus:
        """The session's outcome through ``GET /sessions/{id}?sessionResult=…``."""
        query = {"sessionResult": quote(session_result, safe="")}
        with self._mapped_errors("read the session result"):
            answer = self._payments.get_result_of_payment_session(
                quote(session_id, safe=""), query_parameters=query
            ).message
        status = SESSION_STATUSES.get(str(answer.get("status")), "pending")
        payments = answer.get("payments") or []
        psp = payments[-1].get("pspReference") if payments else None
        return PaymentStatus(
            provider_reference=session_id,
            status=status,
            raw={"id": session_id, "status": answer.get("status")},
            payment_reference=psp,
        )

    def status_on_return(
        self, provider_reference: str, returned: Mapping[str, str]
    ) -> PaymentStatus:
        """Adyen puts ``sessionId`` and ``sessionResult`` on the return URL: with them kadosei
        asks Adyen how the session ended (a cancel or a refusal sends no notification of its
        own). ``completed`` stays ``pending`` here: only the AUTHORISATION notification says
        whether the payment was captured or held."""
        result = returned.get("sessionResult")
        if not result or returned.get("sessionId") != provider_reference:
            return self.get_status(provider_reference)
        reported = self.session_status(provider_reference, result)
        if reported.status == "authorized":
            return replace(reported, status="pending")
        return reported

    def expire_checkout(self, provider_reference: str) -> PaymentStatus:
        """Adyen cannot end a session early: reported ``expired`` locally (module docstring)."""
        return PaymentStatus(
            provider_reference=provider_reference,
            status="expired",
            raw={"id": provider_reference, "local": True},
        )

    def capture(
        self, provider_reference: str, amount: int, currency: str, *, idempotency_key: str
    ) -> PaymentStatus:
        """Capture by pspReference; the outcome comes as a CAPTURE notification."""
        body = {
            "merchantAccount": self._merchant_account,
            "amount": self._amount(amount, currency),
            "reference": idempotency_key,
        }
        with self._mapped_errors("capture the payment"):
            self._modifications.capture_authorised_payment(
                body, quote(provider_reference, safe=""), idempotency_key=idempotency_key
            )
        return PaymentStatus(
            provider_reference=provider_reference,
            status="authorized",
            payment_reference=provider_reference,
        )

    def void(self, provider_reference: str, *, idempotency_key: str) -> PaymentStatus:
        """Cancel by pspReference; the outcome comes as a CANCELLATION notification."""
        body = {"merchantAccount": self._merchant_account, "reference": idempotency_key}
        with self._mapped_errors("cancel the authorisation"):
            self._modifications.cancel_authorised_payment_by_psp_reference(
                body, quote(provider_reference, safe=""), idempotency_key=idempotency_key
            )
        return PaymentStatus(
            provider_reference=provider_reference,
            status="authorized",
            payment_reference=provider_reference,
        )

    def refund(self, request: RefundRequest) -> RefundStatus:
        """Refund by pspReference; the outcome comes as a REFUND notification."""
        body = {
            "merchantAccount": self._merchant_account,
            "amount": self._amount(request.amount, request.currency),
            "reference": request.refund_id,
        }
        with self._mapped_errors("refund the payment"):
            answer = self._modifications.refund_captured_payment(
                body, quote(request.provider_reference, safe=""), idempotency_key=request.refund_id
            ).message
        return RefundStatus(
            provider_refund_reference=str(answer.get("pspReference", "")),
            status="pending",
            provider_reference=request.provider_reference,
            refund_id=request.refund_id,
            raw={"status": answer.get("status")},
        )

    def get_refund(self, provider_reference: str, provider_refund_reference: str) -> RefundStatus:
        """``pending``: Adyen has no refund lookup; the REFUND notification says how it ended."""
        return RefundStatus(
            provider_refund_reference=provider_refund_reference,
            status="pending",
            provider_reference=provider_reference,
        )

    def check_credentials(self) -> None:
        """One harmless authenticated call (the merchant account's payment methods);
        ProviderError if the key or the merchant account does not work."""
        with self._mapped_errors("list the payment methods"):
            self._payments.payment_methods({"merchantAccount": self._merchant_account})

    # -- Adyen → kadosei -----------------------------------------------------------------------

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        """Every item verified with the account's HMAC key first; one bad item: all refused."""
        items = verified_items(body, self._hmac_key)
        facts: NotificationFacts = []
        for item in items:
            try:
                fact = fact_of(item)
            except (AttributeError, TypeError, ValueError):
                raise InvalidNotification("A notification item has an unexpected shape") from None
            if fact is not None:
                facts.append(fact)
        return facts

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> PaymentStatus:
        payments = [
            f for f in self.read_notification(body, headers) if isinstance(f, PaymentStatus)
        ]
        if not payments:
            raise InvalidNotification("The notification reports no payment")
        return payments[0]

    # -- plumbing ------------------------------------------------------------------------------

    def _amount(self, amount: int, currency: str) -> dict[str, Any]:
        if currency in NOT_EXACT:
            raise ProviderBadRequest(f"Adyen cannot take {currency} amounts exactly")
        return to_adyen_amount(amount, currency)

    def _mapped_errors(self, doing: str) -> AbstractContextManager[None]:
        """SDK and HTTP failures as the provider interface's errors, without credentials."""
        read = partial(_sdk_failure, self.display_name, doing)
        return provider_call(self.display_name, doing, read)


def _sdk_failure(display_name: str, doing: str, exc: Exception) -> ProviderError | None:
    if isinstance(exc, AdyenAPIResponseError):
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        detail = ""
        if isinstance(exc.message, dict):
            detail = f"{exc.message.get('errorCode', '')} {exc.message.get('message', '')}"
        return refused(display_name, doing, status, detail.strip())
    if isinstance(exc, AdyenError):
        return ProviderError(f"{display_name} is not configured to {doing} (live_url_prefix?)")
    return None
