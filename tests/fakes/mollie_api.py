"""A local Mollie: the Payments API v2 (payments, captures, refunds), its hosted checkout page
and its webhook, as ``mollie-api-python`` (the official SDK) uses them.

JSON bodies, ``Authorization: Bearer test_…``/``live_…``, amounts as ``{"currency", "value"}``
decimal strings with exactly the currency's decimals ("10.00", JPY "500", KWD "1.500"), errors
as ``application/hal+json`` ``{"status", "title", "detail", "field"}``. The webhook POSTs only
``id=tr_…`` (form-encoded, unsigned): the receiver must fetch the payment to learn anything.
Point the SDK at it with ``Client(api_endpoint=fake.url)`` or ``client.set_api_endpoint``.
"""

from __future__ import annotations

import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import (
    CardOutcome,
    FakePspServer,
    card_form,
    card_outcome,
    html_page,
    json_response,
)
from tests.fakes.mollie_validation import MollieInvalid, money, parse_amount, validate_payment

_ALPHABET = string.ascii_letters + string.digits
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_FAILURES: dict[CardOutcome, tuple[str, str]] = {
    CardOutcome.DECLINED: ("card_declined", "The card was declined."),
    CardOutcome.INSUFFICIENT_FUNDS: ("insufficient_funds", "Insufficient funds on the card."),
    CardOutcome.INVALID_NUMBER: ("invalid_card_number", "The card number is invalid."),
}
HAL = "application/hal+json"


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _later(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


class MollieApiFake(FakePspServer):
    """Mollie as an outside server; payments are dicts in Mollie's JSON shape."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key or "test_" + secrets.token_hex(15)
        self.open_is_cancelable = False  # Mollie: open card payments cannot be canceled by API
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        super().__init__()

    def routes(self) -> list[Rule]:
        return [
            Rule("/v2/payments", methods=["POST"], endpoint="api_create_payment"),
            Rule("/v2/payments", methods=["GET"], endpoint="api_list_payments"),
            Rule("/v2/payments/<tid>", methods=["GET"], endpoint="api_get_payment"),
            Rule("/v2/payments/<tid>", methods=["DELETE"], endpoint="api_cancel_payment"),
            Rule("/v2/payments/<tid>/captures", methods=["POST"], endpoint="api_capture"),
            Rule("/v2/payments/<tid>/refunds", methods=["POST"], endpoint="api_refund"),
            Rule("/v2/payments/<tid>/refunds/<rid>", methods=["GET"], endpoint="api_get_refund"),
            Rule("/checkout/<tid>", methods=["GET", "POST"], endpoint="hosted_page"),
            Rule("/checkout/<tid>/cancel", methods=["GET"], endpoint="hosted_cancel"),
        ]

    # -- protocol ------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return "live" if self.api_key.startswith("live_") else "test"

    def error_response(self, status: int, **fields: Any) -> Response:
        body: dict[str, Any] = {
            "status": status,
            "title": _TITLES.get(status, "Error"),
            "detail": fields.pop("detail", "Something went wrong."),
        }
        body.update(fields)
        body["_links"] = {
            "documentation": {
                "href": "https://docs.mollie.com/overview/handling-errors",
                "type": "text/html",
            }
        }
        return json_response(body, status, HAL)

    def authenticate(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token != self.api_key:
            return self.error_response(
                401, detail="Missing authentication, or failed to authenticate"
            )
        return None

    def idempotency_conflict(self, key: str) -> Response:
        return self.error_response(
            422, detail=f"The idempotency key {key} was already used for another request."
        )

    def _body(self, request: Request) -> dict[str, Any]:
        raw = request.get_data()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise MollieInvalid("The request body contains invalid JSON.", status=400)
        if not isinstance(body, dict):
            raise MollieInvalid("The request body must be a JSON object.", status=400)
        return body

    def _invalid(self, invalid: MollieInvalid) -> Response:
        extra = {"field": invalid.field} if invalid.field else {}
        return self.error_response(invalid.status, detail=invalid.detail, **extra)

    def _not_found(self, kind: str, oid: str) -> Response:
        return self.error_response(404, detail=f"No {kind} exists with token {oid}.")

    def _link(self, path: str, media: str = HAL) -> dict[str, str]:
        return {"href": f"{self.url}{path}", "type": media}

    # -- API endpoints -------------------------------------------------------------------------

    def api_create_payment(self, request: Request) -> Response:
        try:
            body = self._body(request)
            fields = validate_payment(body)
        except MollieInvalid as invalid:
            return self._invalid(invalid)
        tid = _new_id("tr_")
        payment = {
            "resource": "payment",
            "id": tid,
            "mode": self.mode,
            "createdAt": _now(),
            "method": body.get("method"),
            "status": "open",
            "expiresAt": _later(15),
            "profileId": "pfl_fakeprofile",
            "sequenceType": body.get("sequenceType", "oneoff"),
            "locale": body.get("locale"),
            **fields,
        }
        self.payments[tid] = payment
        return json_response(self._payment_json(payment), 201, HAL)

    def api_list_payments(self, request: Request) -> Response:
        limit = int(request.args.get("limit", "50"))
        newest = list(self.payments.values())[::-1][:limit]
        body = {
            "count": len(newest),
            "_embedded": {"payments": [self._payment_json(p) for p in newest]},
            "_links": {"self": self._link("/v2/payments"), "previous": None, "next": None},
        }
        return json_response(body, 200, HAL)

    def api_get_payment(self, request: Request, tid: str) -> Response:
        payment = self.payments.get(tid)
        if payment is None:
            return self._not_found("payment", tid)
        return json_response(self._payment_json(payment), 200, HAL)

    def api_cancel_payment(self, request: Request, tid: str) -> Response:
        payment = self.payments.get(tid)
        if payment is None:
            return self._not_found("payment", tid)
        if not self._cancelable(payment):
            return self.error_response(
                422, detail=f"The payment cannot be canceled (status {payment['status']})."
            )
        self._finish(payment, "canceled", "canceledAt")
        return json_response(self._payment_json(payment), 200, HAL)

    def api_capture(self, request: Request, tid: str) -> Response:
        payment = self.payments.get(tid)
        if payment is None:
            return self._not_found("payment", tid)
        try:
            body = self._body(request)
            total, currency = parse_amount(payment["amount"])
            value = parse_amount(body["amount"])[0] if "amount" in body else total
            if payment["status"] != "authorized":
                raise MollieInvalid(f"The payment cannot be captured ({payment['status']}).")
            if value > total:
                raise MollieInvalid("The capture amount exceeds the authorized amount.", "amount")
        except MollieInvalid as invalid:
            return self._invalid(invalid)
        capture = {
            "resource": "capture",
            "id": _new_id("cpt_"),
            "mode": self.mode,
            "amount": money(value, currency),
            "status": "succeeded",
            "description": body.get("description"),
            "metadata": body.get("metadata"),
            "paymentId": tid,
            "createdAt": _now(),
            "_links": {"payment": self._link(f"/v2/payments/{tid}")},
        }
        self.captures[capture["id"]] = capture
        payment["captured"] = value
        self._finish(payment, "paid", "paidAt")
        return json_response(capture, 201, HAL)

    def api_refund(self, request: Request, tid: str) -> Response:
        payment = self.payments.get(tid)
        if payment is None:
            return self._not_found("payment", tid)
        try:
            body = self._body(request)
            value, currency = parse_amount(body.get("amount"))
            if payment["status"] != "paid":
                raise MollieInvalid(f"The payment cannot be refunded ({payment['status']}).")
            if currency != payment["amount"]["currency"]:
                raise MollieInvalid("The currency does not match the payment.", "amount.currency")
            if value > self._remaining(payment):
                raise MollieInvalid(
                    "The amount is higher than the amount that can be refunded.", "amount"
                )
        except MollieInvalid as invalid:
            return self._invalid(invalid)
        refund = {
            "resource": "refund",
            "id": _new_id("re_"),
            "mode": self.mode,
            "amount": money(value, currency),
            "status": "pending",
            "createdAt": _now(),
            "description": body.get("description", ""),
            "metadata": body.get("metadata"),
            "paymentId": tid,
            "settlementAmount": money(-value, currency),
            "_links": {"payment": self._link(f"/v2/payments/{tid}")},
        }
        self.refunds[refund["id"]] = refund
        return json_response(self._refund_json(refund), 201, HAL)

    def api_get_refund(self, request: Request, tid: str, rid: str) -> Response:
        refund = self.refunds.get(rid)
        if refund is None or refund["paymentId"] != tid:
            return self._not_found("refund", rid)
        return json_response(self._refund_json(refund), 200, HAL)

    # -- the hosted page -----------------------------------------------------------------------

    def hosted_page(self, request: Request, tid: str) -> Response:
        payment = self.payments.get(tid)
        if payment is None:
            return html_page("Payment not found", "<p>Unknown payment.</p>", 404)
        if payment["status"] != "open":
            return html_page("Payment no longer open", f"<p class='status'>{payment['status']}</p>")
        if request.method == "POST":
            landing = self._attempt(payment, card_outcome(request.form["card_number"]))
            return Response(status=303, headers={"Location": landing})
        amount = f"{payment['amount']['value']} {payment['amount']['currency']}"
        body = f"<p class='amount'>{amount}</p>" + card_form(
            f"/checkout/{tid}", f"/checkout/{tid}/cancel"
        )
        return html_page(payment["description"], body)

    def hosted_cancel(self, request: Request, tid: str) -> Response:
        payment = self.payments.get(tid)
        if payment is None:
            return html_page("Payment not found", "<p>Unknown payment.</p>", 404)
        if payment["status"] == "open":
            self._finish(payment, "canceled", "canceledAt")
        landing = payment["cancelUrl"] or payment["redirectUrl"]
        return Response(status=303, headers={"Location": landing})

    # -- test helpers --------------------------------------------------------------------------

    def pay(self, tid: str, card: str = "4242424242424242") -> str:
        """The customer pays with ``card`` on the checkout page; returns where they land."""
        return self._run(lambda: self._attempt(self.payments[tid], card_outcome(card)))

    def decline(self, tid: str, failure_reason: str = "card_declined") -> None:
        """The payment fails with any Mollie ``details.failureReason``."""
        self._run(lambda: self._fail(self.payments[tid], failure_reason, "Declined."))

    def cancel(self, tid: str) -> str:
        """The customer cancels on the checkout page; returns where they land."""
        payment = self.payments[tid]
        self._run(lambda: self._finish(payment, "canceled", "canceledAt"))
        return payment["cancelUrl"] or payment["redirectUrl"]

    def expire(self, tid: str) -> None:
        self._run(lambda: self._finish(self.payments[tid], "expired", "expiredAt"))

    def settle(self, tid: str, succeeded: bool = True) -> None:
        """A pending payment is paid, or fails."""
        payment = self.payments[tid]
        assert payment["status"] == "pending", f"nothing to settle ({payment['status']})"
        if succeeded:
            self._run(lambda: self._finish(payment, "paid", "paidAt"))
        else:
            self._run(lambda: self._fail(payment, "refused_by_issuer", "Refused by the issuer."))

    def settle_refund(self, rid: str, status: str = "refunded") -> None:
        """A pending refund becomes ``refunded`` or ``failed``; the payment's webhook is called."""
        refund = self.refunds[rid]
        payment = self.payments[refund["paymentId"]]

        def settle() -> None:
            refund["status"] = status
            self._notify(payment)

        self._run(settle)

    def send_webhook(self, url: str, tid: str) -> Any:
        """POST ``id=tid`` to ``url`` as Mollie would (anyone can: it carries no signature)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.send_raw(url, headers, f"id={tid}".encode())

    # -- state ---------------------------------------------------------------------------------

    def _attempt(self, payment: dict[str, Any], outcome: CardOutcome) -> str:
        payment["method"] = "creditcard"
        if outcome in _FAILURES:
            self._fail(payment, *_FAILURES[outcome])
        elif outcome is CardOutcome.PROCESSING:
            payment["status"] = "pending"
            self._notify(payment)
        elif payment["captureMode"] == "manual":
            payment["captureBefore"] = _later(28 * 24 * 60)
            self._finish(payment, "authorized", "authorizedAt")
        else:
            self._finish(payment, "paid", "paidAt")
        return payment["redirectUrl"]

    def _fail(self, payment: dict[str, Any], reason: str, message: str) -> None:
        payment["details"] = {"failureReason": reason, "failureMessage": message}
        self._finish(payment, "failed", "failedAt")

    def _finish(self, payment: dict[str, Any], status: str, stamp: str) -> None:
        payment["status"] = status
        payment[stamp] = _now()
        if status == "paid":
            payment.setdefault("captured", parse_amount(payment["amount"])[0])
            payment.setdefault("details", {"cardNumber": "4242", "cardLabel": "Visa"})
        self._notify(payment)

    def _notify(self, payment: dict[str, Any]) -> None:
        if payment["webhookUrl"]:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            self.queue_notification(payment["webhookUrl"], headers, f"id={payment['id']}".encode())

    def _cancelable(self, payment: dict[str, Any]) -> bool:
        if payment["status"] == "open":
            return self.open_is_cancelable
        return payment["status"] in ("pending", "authorized")

    def _remaining(self, payment: dict[str, Any]) -> Decimal:
        refunded = sum(
            (
                parse_amount(r["amount"])[0]
                for r in self.refunds.values()
                if r["paymentId"] == payment["id"] and r["status"] != "failed"
            ),
            Decimal(0),
        )
        return payment.get("captured", Decimal(0)) - refunded

    def _payment_json(self, payment: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in payment.items() if k != "captured" and v is not None}
        currency = payment["amount"]["currency"]
        if payment["status"] in ("open", "pending", "authorized"):
            shown["isCancelable"] = self._cancelable(payment)
        if payment["status"] == "paid":
            remaining = self._remaining(payment)
            shown["amountCaptured"] = money(payment["captured"], currency)
            shown["amountRemaining"] = money(remaining, currency)
            shown["amountRefunded"] = money(payment["captured"] - remaining, currency)
        tid = payment["id"]
        links = {
            "self": self._link(f"/v2/payments/{tid}"),
            "dashboard": {"href": f"{self.url}/dashboard/{tid}", "type": "text/html"},
        }
        if payment["status"] == "open":
            links["checkout"] = self._link(f"/checkout/{tid}", "text/html")
        if any(r["paymentId"] == tid for r in self.refunds.values()):
            links["refunds"] = self._link(f"/v2/payments/{tid}/refunds")
        shown["_links"] = links
        return shown

    def _refund_json(self, refund: dict[str, Any]) -> dict[str, Any]:
        links = {"self": self._link(f"/v2/payments/{refund['paymentId']}/refunds/{refund['id']}")}
        return {**refund, "_links": {**refund["_links"], **links}}
