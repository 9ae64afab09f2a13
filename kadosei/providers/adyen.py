"""Adyen through its official SDK (``Adyen`` 16.0.0, Checkout API v72): hosted Checkout
sessions, payment modifications and HMAC-signed standard notifications.

References. ``create_checkout`` returns Adyen's checkout session id (``CS…``) as the
``provider_reference``; the payment made in that session gets its own ``pspReference`` later.
Adyen has no "get payment" call: ``GET /sessions/{id}`` needs the ``sessionResult`` the
shopper's return URL carries, which a stateless adapter does not have. So the status comes
from notifications: ``get_status(session_id)`` answers ``pending`` without a call, and
``session_status(session_id, session_result)`` asks Adyen when kadosei holds a sessionResult.
AUTHORISATION and OFFER_CLOSED items are matched to the session by
``additionalData.checkoutSessionId`` (Adyen adds it for sessions-flow payments; manual
capture is read from the session metadata Adyen echoes as ``metadata.capture_method``) and carry
the payment's ``pspReference`` in ``PaymentStatus.payment_reference``: ``capture``, ``void``
and ``refund`` take that pspReference, and the facts of CAPTURE, CANCELLATION and REFUND
items are reported under it (``originalReference``).

Cancel and expiry. Adyen cannot end a session early. ``expire_checkout`` therefore calls
nothing and reports the checkout ``expired`` locally; the session also ends at Adyen at the
``expiresAt`` we send. A payment made after that is reported by its AUTHORISATION
notification, which kadosei's state machine records as a conflict to refund.

Amounts. Adyen takes minor units with its own exponents, which differ from ISO 4217 for
four currencies (docs.adyen.com/development-resources/currency-codes): CLP and ISK take two
decimals (ISO: 0), converted exactly (×100); CVE and IDR take none (ISO: 2), and are not
offered because not every ISO amount converts exactly.

Errors: timeouts → ProviderTimeout, connection failures and 5xx → ProviderError, 4xx →
ProviderBadRequest; no SDK retries (the SDK has none) and never a credential in a message.
``display_name`` is "Adyen (<account name>)".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from typing import Any
from urllib.parse import quote

import Adyen
import requests
from Adyen.exceptions import AdyenAPIResponseError, AdyenError
from Adyen.util import is_valid_hmac_notification

from kadosei.providers.base import (
    Capabilities,
    CheckoutRequest,
    CheckoutResult,
    Decline,
    Fee,
    InvalidNotification,
    NotificationFacts,
    PaymentStatus,
    Provider,
    ProviderAccount,
    ProviderBadRequest,
    ProviderError,
    ProviderTimeout,
    RefundRequest,
    RefundStatus,
)

# kadosei's methods → Adyen's payment method types (allowedPaymentMethods).
METHOD_TYPES = {
    "card": "scheme",
    "ideal": "ideal",
    "bancontact": "bcmc",
    "sepa_debit": "sepadirectdebit",
    "paypal": "paypal",
    "klarna": "klarna",
}
# Approximate list prices (adyen.com/pricing: €0.11 processing fee plus the method's fee;
# cards are interchange++, shown as an average). An account's own ``fees`` replace them.
DEFAULT_FEES = {
    "card": Fee(0.6, 13),
    "ideal": Fee(0.0, 32),
    "bancontact": Fee(0.0, 35),
    "sepa_debit": Fee(0.0, 41),
    "paypal": Fee(0.0, 11),
    "klarna": Fee(3.29, 11),
}
# Adyen's exponent where it differs from ISO 4217 (docs.adyen.com/…/currency-codes).
EXPONENT_SHIFT = {"CLP": 2, "ISK": 2}  # Adyen value = ISO minor units × 10**shift
NOT_EXACT = {"CVE", "IDR"}  # Adyen takes no decimals where ISO has two

# Adyen's refusal reasons (docs.adyen.com/development-resources/refusal-reasons) in kadosei's
# words. retry_elsewhere: another provider may succeed (processing/provider side refusals).
DECLINES: dict[str, Decline] = {
    "Refused": Decline("card_declined", True, "Your card was declined."),
    "Referral": Decline("card_declined", True, "Your card was declined."),
    "Declined Non Generic": Decline("card_declined", True, "Your card was declined."),
    "Transaction Not Permitted": Decline(
        "card_declined", False, "Your card does not allow this payment."
    ),
    "Restricted Card": Decline("card_declined", False, "Your card does not allow this payment."),
    "Blocked Card": Decline("card_declined", False, "Your card is blocked."),
    "Not supported": Decline("card_declined", True, "This card is not supported here."),
    "Not enough balance": Decline("insufficient_funds", False, "Your card has insufficient funds."),
    "Withdrawal amount exceeded": Decline(
        "insufficient_funds", False, "The payment exceeds your card's limit."
    ),
    "Withdrawal count exceeded": Decline(
        "card_declined", False, "Your card's limit of payments was reached."
    ),
    "CVC Declined": Decline("incorrect_cvc", False, "Your card's security code is incorrect."),
    "Expired Card": Decline("expired_card", False, "Your card has expired."),
    "Invalid Card Number": Decline("incorrect_number", False, "Your card number is invalid."),
    "Invalid Amount": Decline("invalid_amount", True, "The amount could not be processed."),
    "FRAUD": Decline("fraudulent", False, "Your payment was declined."),
    "FRAUD-CANCELLED": Decline("fraudulent", False, "Your payment was declined."),
    "Acquirer Fraud": Decline("fraudulent", False, "Your payment was declined."),
    "Issuer Suspected Fraud": Decline("fraudulent", False, "Your payment was declined."),
    "Issuer Unavailable": Decline(
        "processing_error", True, "Your bank could not be reached. Please try again."
    ),
    "Acquirer Error": Decline(
        "processing_error", True, "The payment could not be processed. Please try again."
    ),
    "Not Submitted": Decline(
        "processing_error", True, "The payment could not be processed. Please try again."
    ),
    "3D Not Authenticated": Decline(
        "authentication_failed", True, "The payment could not be authenticated."
    ),
    "3DS Authentication Error": Decline(
        "authentication_failed", True, "The payment could not be authenticated."
    ),
    "Authentication required": Decline(
        "authentication_failed", True, "The payment needs authentication."
    ),
    "Cancelled": Decline("canceled", False, "The payment was canceled."),
    "Shopper Cancelled": Decline("canceled", False, "You canceled the payment."),
}
UNKNOWN_DECLINE = Decline("card_declined", True, "Your payment was declined.")

# GET /sessions status → kadosei status (completed: authorised; capture mode unknown here).
SESSION_STATUSES = {
    "active": "pending",
    "paymentPending": "processing",
    "completed": "authorized",
    "refused": "failed",
    "canceled": "canceled",
    "expired": "expired",
}
NOTIFICATION_ACK = (200, "[accepted]", "text/plain")


class AdyenProvider(Provider):
    """One Adyen merchant account (credentials: api_key, merchant_account, hmac_key and,
    for live mode, live_url_prefix)."""

    notification_ack = NOTIFICATION_ACK

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
        return Capabilities(
            modes=frozenset({"test", "live"}),
            methods=methods & frozenset(METHOD_TYPES),
            currencies=account.currencies,
            fees=dict(account.fees) if account.fees is not None else DEFAULT_FEES,
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

    # -- Adyen → kadosei -----------------------------------------------------------------------

    def read_notification(self, body: bytes, headers: Mapping[str, str]) -> NotificationFacts:
        """Every item verified with the account's HMAC key first; one bad item: all refused."""
        items = self._verified_items(body)
        facts: NotificationFacts = []
        for item in items:
            fact = fact_of(item)
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

    def _verified_items(self, body: bytes) -> list[dict[str, Any]]:
        try:
            payload = json.loads(body)
            items = [entry["NotificationRequestItem"] for entry in payload["notificationItems"]]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            raise InvalidNotification("Not an Adyen standard notification") from None
        if not items:
            raise InvalidNotification("The notification has no items")
        for item in items:
            if not self._signed(item):
                raise InvalidNotification("An item's HMAC signature does not verify")
        return items

    def _signed(self, item: Any) -> bool:
        if not isinstance(item, dict) or not self._hmac_key:
            return False
        signature = (item.get("additionalData") or {}).get("hmacSignature")
        if not isinstance(signature, str) or not signature:
            return False
        try:
            return is_valid_hmac_notification(item, self._hmac_key) is True
        except (ValueError, KeyError, TypeError, AttributeError):
            return False

    # -- plumbing ------------------------------------------------------------------------------

    def _amount(self, amount: int, currency: str) -> dict[str, Any]:
        if currency in NOT_EXACT:
            raise ProviderBadRequest(f"Adyen cannot take {currency} amounts exactly")
        return {"value": amount * 10 ** EXPONENT_SHIFT.get(currency, 0), "currency": currency}

    @contextmanager
    def _mapped_errors(self, doing: str) -> Iterator[None]:
        """SDK and HTTP failures as the provider interface's errors, without credentials."""
        try:
            yield
        except requests.Timeout:
            raise ProviderTimeout(f"Adyen did not answer in time to {doing}") from None
        except requests.RequestException as exc:
            kind = type(exc).__name__
            raise ProviderError(f"Adyen could not be reached to {doing} ({kind})") from None
        except AdyenAPIResponseError as exc:
            raise _http_error(exc, doing) from None
        except AdyenError:
            raise ProviderError(f"Adyen is not configured to {doing} (live_url_prefix?)") from None


def _http_error(exc: AdyenAPIResponseError, doing: str) -> ProviderError:
    status = exc.status_code if isinstance(exc.status_code, int) else 0
    detail = f"Adyen refused to {doing}: HTTP {status}"
    if isinstance(exc.message, dict):
        detail += f" {exc.message.get('errorCode', '')} {exc.message.get('message', '')}".rstrip()
    if 400 <= status < 500:
        return ProviderBadRequest(detail)
    return ProviderError(detail)


def from_adyen_amount(value: int, currency: str) -> int:
    """Adyen's minor units back into kadosei's (ISO 4217) ones."""
    return value // 10 ** EXPONENT_SHIFT.get(currency, 0)


def fact_of(item: Mapping[str, Any]) -> PaymentStatus | RefundStatus | None:
    """What one verified NotificationRequestItem reports; None for events kadosei ignores."""
    event = item.get("eventCode")
    success = item.get("success") == "true"
    psp = str(item.get("pspReference", ""))
    original = item.get("originalReference")
    reason = str(item.get("reason") or "")
    raw = {k: item.get(k) for k in ("eventCode", "pspReference", "success", "reason")}
    if event == "REFUND":
        return RefundStatus(
            provider_refund_reference=psp,
            status="succeeded" if success else "failed",
            provider_reference=original,
            refund_id=item.get("merchantReference"),
            failure_code=None if success else "refund_failed",
            failure_message=None if success else reason or None,
            raw=raw,
        )
    session = (item.get("additionalData") or {}).get("checkoutSessionId")
    if event in ("AUTHORISATION", "OFFER_CLOSED"):
        reference, payment = session or psp, psp
    elif event in ("CAPTURE", "CANCELLATION"):
        reference = payment = str(original or psp)
    else:
        return None
    if event == "AUTHORISATION" and not success:
        decline = DECLINES.get(reason, UNKNOWN_DECLINE)
        return PaymentStatus(
            reference,
            "failed",
            failure_code=decline.code,
            failure_message=decline.message,
            raw=raw,
            retry_elsewhere=decline.retry_elsewhere,
            payment_reference=payment,
        )
    status = _event_status(str(event), success, item)
    amount = item.get("amount") or {}
    captured = None
    if status == "succeeded" and isinstance(amount.get("value"), int):
        captured = from_adyen_amount(amount["value"], str(amount.get("currency")))
    return PaymentStatus(
        reference, status, raw=raw, payment_reference=payment, amount_captured=captured
    )


def _event_status(event: str, success: bool, item: Mapping[str, Any]) -> str:
    """A successful (or harmless) event's status; refused AUTHORISATIONs are declines."""
    if event == "OFFER_CLOSED":
        return "expired"
    if event == "CANCELLATION":
        return "canceled" if success else "authorized"
    if event == "CAPTURE":
        return "succeeded" if success else "authorized"
    # AUTHORISATION success: captured now unless the session asked for a manual capture.
    manual = (item.get("additionalData") or {}).get("metadata.capture_method") == "manual"
    return "authorized" if manual else "succeeded"
