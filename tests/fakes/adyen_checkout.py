"""A local Adyen: the Checkout API's sessions (hosted mode) and payment modifications, the
Hosted Checkout page and HMAC-signed standard notifications, as the ``Adyen`` SDK uses them.

JSON bodies, an ``X-API-Key`` header, amounts as ``{"value": minor units, "currency"}``, errors
as ``{"status", "errorCode", "message", "errorType"}``. The SDK (16.0.0) targets Checkout v72;
any ``/v<N>/`` prefix is served. Modifications answer ``201 received`` and their outcome comes
as a notification (CAPTURE, CANCELLATION, REFUND), as at Adyen. Notifications are signed with
Adyen's HMAC scheme (``additionalData.hmacSignature``) and expect ``[accepted]``.
Point the SDK at it by setting ``baseUrl`` on its checkout services to ``fake.api_base``.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.adyen_protocol import (
    AdyenInvalid,
    check_amount,
    iso_time,
    new_psp_reference,
    notification_item,
)
from tests.fakes.loopback import (
    CardOutcome,
    FakePspServer,
    card_form,
    card_outcome,
    html_page,
    json_response,
)

CHECKOUT_VERSION = 72
_REFUSALS: dict[CardOutcome, str] = {
    CardOutcome.DECLINED: "Refused",
    CardOutcome.INSUFFICIENT_FUNDS: "Not enough balance",
    CardOutcome.INVALID_NUMBER: "Invalid Card Number",
}
MAX_REFUSALS = 3  # then the session is ``refused``


class AdyenCheckoutFake(FakePspServer):
    """Adyen Checkout as an outside server; sessions and payments are plain dicts."""

    def __init__(
        self,
        api_key: str | None = None,
        merchant_account: str = "KadoseiTestECOM",
        hmac_key: str | None = None,
    ) -> None:
        self.api_key = api_key or "AQE_fake_" + secrets.token_urlsafe(24)
        self.merchant_account = merchant_account
        self.hmac_key = hmac_key or secrets.token_hex(32).upper()
        self.live = False
        self.notification_url: str | None = None
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        super().__init__()

    @property
    def api_base(self) -> str:
        return f"{self.url}/v{CHECKOUT_VERSION}"

    def routes(self) -> list[Rule]:
        api = "/v<int:version>"
        return [
            Rule(f"{api}/sessions", methods=["POST"], endpoint="api_create_session"),
            Rule(f"{api}/sessions/<sid>", methods=["GET"], endpoint="api_session_result"),
            Rule(f"{api}/paymentMethods", methods=["POST"], endpoint="api_payment_methods"),
            Rule(f"{api}/payments/<psp>/captures", methods=["POST"], endpoint="api_capture"),
            Rule(f"{api}/payments/<psp>/cancels", methods=["POST"], endpoint="api_cancel"),
            Rule(f"{api}/payments/<psp>/refunds", methods=["POST"], endpoint="api_refund"),
            Rule("/checkoutshopper/<sid>", methods=["GET", "POST"], endpoint="hosted_page"),
            Rule("/checkoutshopper/<sid>/cancel", methods=["GET"], endpoint="hosted_cancel"),
        ]

    # -- protocol ------------------------------------------------------------------------------

    def error_response(self, status: int, **fields: Any) -> Response:
        error_type = {401: "security", 403: "security"}.get(
            status, "internal" if status >= 500 else "validation"
        )
        body = {
            "status": status,
            "errorCode": "000",
            "message": "An unknown error occurred" if status >= 500 else "Invalid request",
            "errorType": error_type,
            **fields,
        }
        response = json_response(body, status)
        response.headers["pspReference"] = new_psp_reference()
        return response

    def authenticate(self, request: Request) -> Response | None:
        if request.headers.get("X-API-Key") != self.api_key:
            return self.error_response(401, message="HTTP Status Response - Unauthorized")
        return None

    def idempotency_conflict(self, key: str) -> Response:
        return self.error_response(
            422, errorCode="704", message="request already processed or in progress"
        )

    def _created(self, payload: dict[str, Any], status: int = 201) -> Response:
        response = json_response(payload, status)
        response.headers["pspReference"] = payload.get("pspReference") or new_psp_reference()
        return response

    def _invalid(self, invalid: AdyenInvalid) -> Response:
        fields = {"errorCode": invalid.error_code, "message": invalid.message}
        if invalid.status == 403:
            fields["errorType"] = "security"
        return self.error_response(invalid.status, **fields)

    def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            raise AdyenInvalid(400, "702", f"Unexpected input: {exc}")
        if not isinstance(body, dict):
            raise AdyenInvalid(400, "702", "Unexpected input: a JSON object is expected")
        account = body.get("merchantAccount")
        if not account:
            raise AdyenInvalid(422, "901", "Required field 'merchantAccount' is not provided.")
        if account != self.merchant_account:
            raise AdyenInvalid(403, "901", "Invalid Merchant Account")
        return body

    # -- API endpoints -------------------------------------------------------------------------

    def api_create_session(self, request: Request, version: int) -> Response:
        try:
            body = self._json(request)
            amount = check_amount(body.get("amount"))
            if not body.get("reference"):
                raise AdyenInvalid(422, "130", "Required field 'reference' is not provided.")
            return_url = body.get("returnUrl")
            if not return_url or urlsplit(return_url).scheme not in ("http", "https"):
                raise AdyenInvalid(422, "14_030", "Return URL is missing.")
        except AdyenInvalid as invalid:
            return self._invalid(invalid)
        now = datetime.now(UTC)
        sid = "CS" + secrets.token_hex(8).upper()
        session = {
            "id": sid,
            "amount": amount,
            "merchantAccount": self.merchant_account,
            "reference": body["reference"],
            "returnUrl": return_url,
            "mode": body.get("mode", "embedded"),
            "expiresAt": body.get("expiresAt") or iso_time(now + timedelta(hours=1)),
            "countryCode": body.get("countryCode"),
            "shopperLocale": body.get("shopperLocale", "en-US"),
            "metadata": body.get("metadata"),
            "sessionData": "Ab02b4c0!" + base64.b64encode(secrets.token_bytes(48)).decode(),
        }
        if session["mode"] == "hosted":
            session["url"] = f"{self.url}/checkoutshopper/{sid}"
        self.sessions[sid] = {
            **session,
            "status": "active",
            "manualCapture": str(body.get("additionalData", {}).get("manualCapture")).lower()
            == "true"
            or "captureDelayHours" in body,
            "payments": [],
            "results": set(),
            "refusals": 0,
        }
        return self._created({k: v for k, v in session.items() if v is not None})

    def api_session_result(self, request: Request, version: int, sid: str) -> Response:
        session = self.sessions.get(sid)
        if session is None:
            return self.error_response(404, errorCode="000", message="Session not found")
        result = request.args.get("sessionResult")
        if not result:
            return self.error_response(
                400, errorCode="702", message="Required query parameter 'sessionResult' missing"
            )
        if result not in session["results"]:
            return self.error_response(422, errorCode="000", message="Invalid sessionResult")
        payments = [
            {
                "amount": self.payments[psp]["amount"],
                "pspReference": psp,
                "resultCode": "Authorised",
                "paymentMethod": {"type": "scheme", "brand": "visa"},
            }
            for psp in session["payments"]
            if self.payments[psp]["status"] in ("authorised", "captured")
        ]
        return json_response(
            {
                "id": sid,
                "status": session["status"],
                "reference": session["reference"],
                "payments": payments,
            }
        )

    def api_payment_methods(self, request: Request, version: int) -> Response:
        try:
            self._json(request)
        except AdyenInvalid as invalid:
            return self._invalid(invalid)
        methods = [{"name": "Cards", "type": "scheme", "brands": ["visa", "mc", "amex"]}]
        return json_response({"paymentMethods": methods})

    def api_capture(self, request: Request, version: int, psp: str) -> Response:
        return self._modify(request, psp, "CAPTURE", needs_amount=True)

    def api_cancel(self, request: Request, version: int, psp: str) -> Response:
        return self._modify(request, psp, "CANCELLATION", needs_amount=False)

    def api_refund(self, request: Request, version: int, psp: str) -> Response:
        return self._modify(request, psp, "REFUND", needs_amount=True)

    def _modify(self, request: Request, psp: str, event: str, needs_amount: bool) -> Response:
        try:
            body = self._json(request)
            amount = check_amount(body.get("amount")) if needs_amount else None
            payment = self.payments.get(psp)
            if payment is None:
                raise AdyenInvalid(422, "167", "Original pspReference required for this operation")
        except AdyenInvalid as invalid:
            return self._invalid(invalid)
        reference = body.get("reference") or payment["merchantReference"]
        modification = new_psp_reference()
        success, reason = self._apply(payment, event, amount)
        self._notify(
            event,
            modification,
            amount or payment["amount"],
            reference,
            success,
            reason,
            original=psp,
        )
        answer = {
            "merchantAccount": self.merchant_account,
            "paymentPspReference": psp,
            "pspReference": modification,
            "reference": body.get("reference"),
            "status": "received",
        }
        if amount:
            answer["amount"] = amount
        return self._created({k: v for k, v in answer.items() if v is not None})

    def _apply(self, payment: dict[str, Any], event: str, amount: dict | None) -> tuple[bool, str]:
        """The modification's asynchronous outcome: (success, reason)."""
        if amount and amount["currency"] != payment["amount"]["currency"]:
            return False, "Currency mismatch"
        if event == "CANCELLATION":
            if payment["status"] != "authorised":
                return False, f"Transaction is {payment['status']}"
            payment["status"] = "cancelled"
            return True, ""
        assert amount is not None
        if event == "CAPTURE":
            if payment["status"] != "authorised":
                return False, f"Transaction is {payment['status']}"
            if amount["value"] > payment["amount"]["value"]:
                return False, "Capture amount exceeds the authorised amount"
            payment.update(status="captured", captured=amount["value"])
            return True, ""
        if payment["status"] != "captured":
            return False, "Transaction hasn't been captured"
        if amount["value"] > payment["captured"] - payment["refunded"]:
            return False, "Insufficient balance on payment"
        payment["refunded"] += amount["value"]
        return True, ""

    # -- the hosted page -----------------------------------------------------------------------

    def hosted_page(self, request: Request, sid: str) -> Response:
        session = self.sessions.get(sid)
        if session is None:
            return html_page("Session not found", "<p>Unknown session.</p>", 404)
        if session["status"] != "active":
            return html_page(
                "Session no longer active", f"<p class='status'>{session['status']}</p>"
            )
        error = None
        if request.method == "POST":
            landing, error = self._attempt(session, card_outcome(request.form["card_number"]))
            if landing is not None:
                return Response(status=303, headers={"Location": landing})
        amount = f"{session['amount']['value']} {session['amount']['currency']} (minor units)"
        form = card_form(f"/checkoutshopper/{sid}", f"/checkoutshopper/{sid}/cancel", error)
        return html_page("Hosted Checkout", f"<p class='amount'>{amount}</p>{form}")

    def hosted_cancel(self, request: Request, sid: str) -> Response:
        session = self.sessions.get(sid)
        if session is None:
            return html_page("Session not found", "<p>Unknown session.</p>", 404)
        if session["status"] == "active":
            session["status"] = "canceled"
        return Response(status=303, headers={"Location": self._return_url(session)})

    # -- test helpers --------------------------------------------------------------------------

    def pay(self, sid: str, card: str = "4242424242424242") -> str | None:
        """The shopper pays with ``card``; returns where they land (None: still on the page)."""
        return self._run(lambda: self._attempt(self.sessions[sid], card_outcome(card))[0])

    def decline(self, sid: str, reason: str = "Refused") -> None:
        """A payment attempt is refused with any Adyen refusal reason."""
        self._run(lambda: self._refuse(self.sessions[sid], reason))

    def cancel(self, sid: str) -> str:
        """The shopper leaves through the page's cancel link; returns where they land."""
        session = self.sessions[sid]

        def leave() -> str:
            if session["status"] == "active":
                session["status"] = "canceled"
            return self._return_url(session)

        return self._run(leave)

    def expire(self, sid: str) -> None:
        """The session expires; a payment still pending is closed (OFFER_CLOSED)."""
        self._run(lambda: self._expire(self.sessions[sid]))

    def settle(self, sid: str, succeeded: bool = True) -> None:
        """A pending payment is authorised or refused (its AUTHORISATION notification)."""
        self._run(lambda: self._settle(self.sessions[sid], succeeded))

    def notification_body(self, item: dict[str, Any]) -> bytes:
        return json.dumps(
            {
                "live": "true" if self.live else "false",
                "notificationItems": [{"NotificationRequestItem": item}],
            }
        ).encode()

    def send_item(self, item: dict[str, Any]) -> Any:
        """Send an arbitrary (e.g. forged) NotificationRequestItem as-is."""
        assert self.notification_url, "set notification_url first"
        headers = {"Content-Type": "application/json"}
        return self.send_raw(self.notification_url, headers, self.notification_body(item))

    # -- state ---------------------------------------------------------------------------------

    def _return_url(self, session: dict[str, Any]) -> str:
        result = secrets.token_urlsafe(24)
        session["results"].add(result)
        query = urlencode({"sessionId": session["id"], "sessionResult": result})
        separator = "&" if urlsplit(session["returnUrl"]).query else "?"
        return f"{session['returnUrl']}{separator}{query}"

    def _new_payment(self, session: dict[str, Any], status: str) -> dict[str, Any]:
        payment = {
            "pspReference": new_psp_reference(),
            "sessionId": session["id"],
            "amount": dict(session["amount"]),
            "merchantReference": session["reference"],
            "status": status,
            "captured": 0,
            "refunded": 0,
        }
        self.payments[payment["pspReference"]] = payment
        session["payments"].append(payment["pspReference"])
        return payment

    def _attempt(self, session: dict[str, Any], outcome: CardOutcome) -> tuple[str | None, str]:
        if session["status"] != "active":
            return None, "This session is no longer active."
        if outcome in _REFUSALS:
            self._refuse(session, _REFUSALS[outcome])
            if session["status"] == "refused":
                return self._return_url(session), ""
            return None, f"The payment was refused ({_REFUSALS[outcome]})."
        if outcome is CardOutcome.PROCESSING:
            self._new_payment(session, "pending")
            session["status"] = "paymentPending"
            return self._return_url(session), ""
        self._authorise(session, self._new_payment(session, "authorised"))
        return self._return_url(session), ""

    def _authorise(self, session: dict[str, Any], payment: dict[str, Any]) -> None:
        payment["status"] = "authorised"
        if not session["manualCapture"]:
            payment.update(status="captured", captured=payment["amount"]["value"])
        session["status"] = "completed"
        self._notify(
            "AUTHORISATION",
            payment["pspReference"],
            payment["amount"],
            payment["merchantReference"],
            True,
            "",
            operations=["CANCEL", "CAPTURE", "REFUND"],
        )

    def _refuse(self, session: dict[str, Any], reason: str) -> None:
        payment = self._new_payment(session, "refused")
        session["refusals"] += 1
        if session["refusals"] >= MAX_REFUSALS:
            session["status"] = "refused"
        self._notify(
            "AUTHORISATION",
            payment["pspReference"],
            payment["amount"],
            payment["merchantReference"],
            False,
            reason,
        )

    def _settle(self, session: dict[str, Any], succeeded: bool) -> None:
        payment = next(
            self.payments[p] for p in session["payments"] if self.payments[p]["status"] == "pending"
        )
        if succeeded:
            self._authorise(session, payment)
            return
        payment["status"] = "refused"
        session["status"] = "refused"
        self._notify(
            "AUTHORISATION",
            payment["pspReference"],
            payment["amount"],
            payment["merchantReference"],
            False,
            "Refused",
        )

    def _expire(self, session: dict[str, Any]) -> None:
        if session["status"] in ("active", "paymentPending"):
            session["status"] = "expired"
        for psp in session["payments"]:
            payment = self.payments[psp]
            if payment["status"] == "pending":
                payment["status"] = "expired"
                self._notify(
                    "OFFER_CLOSED", psp, payment["amount"], payment["merchantReference"], True, ""
                )

    def _notify(
        self,
        event: str,
        psp: str,
        amount: dict[str, Any],
        reference: str,
        success: bool,
        reason: str,
        *,
        original: str | None = None,
        operations: list[str] | None = None,
    ) -> None:
        payment = self.payments.get(original or psp)
        session = self.sessions.get(payment["sessionId"]) if payment else None
        additional = {}
        if session is not None and original is None:
            # Adyen adds the session id to a sessions-flow payment's AUTHORISATION/OFFER_CLOSED
            # items, and the session's metadata as ``metadata.<key>`` entries.
            additional["checkoutSessionId"] = session["id"]
            for key, value in (session.get("metadata") or {}).items():
                additional[f"metadata.{key}"] = str(value)
        item = notification_item(
            event,
            psp,
            amount,
            self.merchant_account,
            reference,
            success,
            reason,
            self.hmac_key,
            original=original,
            operations=operations,
            additional=additional,
        )
        if self.notification_url:
            headers = {"Content-Type": "application/json"}
            self.queue_notification(self.notification_url, headers, self.notification_body(item))
