"""A local Stripe: Checkout Sessions in payment mode, PaymentIntents, refunds, its hosted page
and signed webhook events, speaking the v1 API as ``stripe`` (the official SDK) uses it.

Requests are form-encoded with nested keys, authenticated with ``Authorization: Bearer sk_…``;
errors are Stripe's ``{"error": {"type", "code", "decline_code", "message", "param"}}`` with its
status codes; an ``Idempotency-Key`` replays the first result. Events go to
``notification_url`` signed with ``Stripe-Signature`` (see :mod:`tests.fakes.stripe_form`).
Point the SDK at it with ``stripe.StripeClient(key, base_addresses={"api": fake.url})``.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from tests.fakes import stripe_objects as objects
from tests.fakes.loopback import (
    CardOutcome,
    FakePspServer,
    card_form,
    card_outcome,
    html_page,
    json_response,
)
from tests.fakes.stripe_form import decode_form, signature_header
from tests.fakes.stripe_objects import DECLINES, OWN_CODES, new_id
from tests.fakes.stripe_validation import StripeInvalid, validate_refund, validate_session


class StripeApiFake(FakePspServer):
    """Stripe as an outside server; every object is a plain dict in Stripe's JSON shape."""

    def __init__(self, secret_key: str | None = None, webhook_secret: str | None = None) -> None:
        self.secret_key = secret_key or "sk_test_" + secrets.token_hex(12)
        self.webhook_secret = webhook_secret or "whsec_" + secrets.token_hex(16)
        self.notification_url: str | None = None
        self.subscribed_events: set[str] | None = None  # None: every event type
        self.refunds_settle_later = False  # True: refunds stay pending until settle_refund
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        super().__init__()

    def routes(self) -> list[Rule]:
        return [
            Rule("/v1/checkout/sessions", methods=["POST"], endpoint="api_create_session"),
            Rule("/v1/checkout/sessions", methods=["GET"], endpoint="api_list_sessions"),
            Rule("/v1/checkout/sessions/<sid>", methods=["GET"], endpoint="api_get_session"),
            Rule("/v1/checkout/sessions/<sid>/expire", methods=["POST"], endpoint="api_expire"),
            Rule("/v1/payment_intents/<pid>", methods=["GET"], endpoint="api_get_intent"),
            Rule("/v1/payment_intents/<pid>/capture", methods=["POST"], endpoint="api_capture"),
            Rule("/v1/payment_intents/<pid>/cancel", methods=["POST"], endpoint="api_cancel"),
            Rule("/v1/refunds", methods=["POST"], endpoint="api_create_refund"),
            Rule("/v1/refunds/<rid>", methods=["GET"], endpoint="api_get_refund"),
            Rule("/pay/<sid>", methods=["GET", "POST"], endpoint="hosted_page"),
        ]

    # -- protocol ------------------------------------------------------------------------------

    @property
    def livemode(self) -> bool:
        return self.secret_key.startswith("sk_live_")

    def parse_body(self, request: Request) -> Any:
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            return decode_form(request.get_data(as_text=True))
        return super().parse_body(request)

    def error_response(self, status: int, **fields: Any) -> Response:
        defaults: dict[int, dict[str, Any]] = {
            400: {"type": "invalid_request_error", "message": "Invalid request."},
            401: {"type": "invalid_request_error", "message": "Invalid API Key provided."},
            402: {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            },
            404: {"type": "invalid_request_error", "message": "Unrecognized request URL."},
            405: {"type": "invalid_request_error", "message": "Unrecognized request URL."},
            429: {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many."},
        }
        error = {**defaults.get(status, {"type": "api_error", "message": "An unknown error."})}
        error.update(fields)
        if error.get("code"):
            error.setdefault("doc_url", f"https://stripe.com/docs/error-codes/{error['code']}")
        response = json_response({"error": error}, status)
        response.headers["Request-Id"] = new_id("req_")
        return response

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "basic":
            credential = base64.b64decode(credential).decode(errors="replace").partition(":")[0]
        elif scheme.lower() != "bearer":
            credential = ""
        if not credential:
            return self.error_response(401, message="You did not provide an API key.")
        if credential != self.secret_key:
            shown = f"{credential[:8]}{'*' * 8}{credential[-4:]}"
            return self.error_response(401, message=f"Invalid API Key provided: {shown}")
        return None

    def idempotency_conflict(self, key: str) -> Response:
        return self.error_response(
            400,
            type="idempotency_error",
            message=(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            ),
        )

    def _missing(self, kind: str, oid: str, param: str) -> Response:
        return self.error_response(
            404, code="resource_missing", param=param, message=f"No such {kind}: '{oid}'"
        )

    def _ok(self, payload: dict[str, Any]) -> Response:
        response = json_response(payload)
        response.headers["Request-Id"] = new_id("req_")
        return response

    # -- API endpoints -------------------------------------------------------------------------

    def api_create_session(self, request: Request) -> Response:
        params = decode_form(request.get_data(as_text=True))
        try:
            checked = validate_session(params, now=int(time.time()))
        except StripeInvalid as invalid:
            return self.error_response(400, **invalid.fields)
        sid = new_id("cs_test_" if not self.livemode else "cs_live_")
        session = {
            "id": sid,
            "object": "checkout.session",
            "created": int(time.time()),
            "livemode": self.livemode,
            "mode": "payment",
            "ui_mode": "hosted",
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "customer": None,
            "url": f"{self.url}/pay/{sid}",
            **checked,
        }
        self.sessions[sid] = session
        return self._ok(self._session_json(session, expand=params.get("expand") or []))

    def api_list_sessions(self, request: Request) -> Response:
        limit = int(request.args.get("limit", "10"))
        newest = list(self.sessions.values())[::-1]  # newest first, as Stripe lists
        if "payment_intent" in request.args:  # Stripe's documented filter
            newest = [s for s in newest if s["payment_intent"] == request.args["payment_intent"]]
        data = [self._session_json(s, []) for s in newest[:limit]]
        return self._ok(
            {
                "object": "list",
                "data": data,
                "has_more": len(newest) > limit,
                "url": "/v1/checkout/sessions",
            }
        )

    def api_get_session(self, request: Request, sid: str) -> Response:
        session = self.sessions.get(sid)
        if session is None:
            return self._missing("checkout.session", sid, "session")
        expand = [v for k, v in request.args.items(multi=True) if k.startswith("expand")]
        unknown = [path for path in expand if path not in ("payment_intent", "line_items")]
        if unknown:
            return self.error_response(
                400, message=f"This property cannot be expanded ({unknown[0]})."
            )
        return self._ok(self._session_json(session, expand))

    def api_expire(self, request: Request, sid: str) -> Response:
        session = self.sessions.get(sid)
        if session is None:
            return self._missing("checkout.session", sid, "session")
        if session["status"] != "open":
            return self.error_response(
                400,
                message=(
                    'Only Checkout Sessions with a status in ["open"] can be expired. This '
                    f'Checkout Session has a status of "{session["status"]}".'
                ),
            )
        self._expire(session)
        return self._ok(self._session_json(session, []))

    def api_get_intent(self, request: Request, pid: str) -> Response:
        intent = self.payment_intents.get(pid)
        if intent is None:
            return self._missing("payment_intent", pid, "intent")
        return self._ok(intent)

    def api_capture(self, request: Request, pid: str) -> Response:
        intent = self.payment_intents.get(pid)
        if intent is None:
            return self._missing("payment_intent", pid, "intent")
        if intent["status"] != "requires_capture":
            return self._unexpected_state(intent, "captured", "requires_capture")
        params = decode_form(request.get_data(as_text=True))
        amount = params.get("amount_to_capture", str(intent["amount"]))
        if not amount.isdigit() or not 0 < int(amount) <= intent["amount"]:
            return self.error_response(
                400, param="amount_to_capture", message="Invalid amount_to_capture."
            )
        charge = self.charges[intent["latest_charge"]]
        charge.update(captured=True, amount_captured=int(amount))
        intent.update(status="succeeded", amount_capturable=0, amount_received=int(amount))
        self._session_of(intent)["payment_status"] = "paid"
        self._emit("payment_intent.succeeded", intent)
        self._emit("charge.captured", charge)
        return self._ok(intent)

    def api_cancel(self, request: Request, pid: str) -> Response:
        intent = self.payment_intents.get(pid)
        if intent is None:
            return self._missing("payment_intent", pid, "intent")
        cancelable = ("requires_payment_method", "requires_capture", "requires_action")
        if intent["status"] not in cancelable:
            return self._unexpected_state(intent, "canceled", ", ".join(cancelable))
        if self._session_of(intent)["status"] == "open":
            return self.error_response(
                400,
                code="payment_intent_unexpected_state",
                message=(
                    "You cannot cancel this PaymentIntent because it was created by an open "
                    "Checkout Session. Expire the Checkout Session instead."
                ),
            )
        params = decode_form(request.get_data(as_text=True))
        reason = params.get("cancellation_reason", "requested_by_customer")
        intent.update(
            status="canceled",
            amount_capturable=0,
            canceled_at=int(time.time()),
            cancellation_reason=reason,
        )
        self._emit("payment_intent.canceled", intent)
        return self._ok(intent)

    def api_create_refund(self, request: Request) -> Response:
        params = decode_form(request.get_data(as_text=True))
        intent = self.payment_intents.get(params.get("payment_intent", ""))
        if intent is None and params.get("charge") in self.charges:
            intent = self.payment_intents[self.charges[params["charge"]]["payment_intent"]]
        if intent is None:
            if "payment_intent" in params:
                return self._missing("payment_intent", params["payment_intent"], "payment_intent")
            return self.error_response(
                400, param="payment_intent", message="Missing required param: payment_intent."
            )
        charge = self.charges.get(intent["latest_charge"] or "")
        try:
            amount = validate_refund(params, intent, charge)
        except StripeInvalid as invalid:
            return self.error_response(400, **invalid.fields)
        assert charge is not None
        status = "pending" if self.refunds_settle_later else "succeeded"
        refund = objects.refund(charge, amount, params, status)
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge)
        return self._ok(refund)

    def api_get_refund(self, request: Request, rid: str) -> Response:
        refund = self.refunds.get(rid)
        if refund is None:
            return self._missing("refund", rid, "refund")
        return self._ok(refund)

    def _unexpected_state(self, intent: dict, verb: str, allowed: str) -> Response:
        return self.error_response(
            400,
            code="payment_intent_unexpected_state",
            message=(
                f"This PaymentIntent could not be {verb} because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be {verb}: {allowed}."
            ),
        )

    # -- the hosted page -----------------------------------------------------------------------

    def hosted_page(self, request: Request, sid: str) -> Response:
        session = self.sessions.get(sid)
        if session is None:
            return html_page("Something went wrong", "<p>This page does not exist.</p>", 404)
        if session["status"] != "open":
            return html_page(
                "This Checkout Session is no longer active",
                f"<p class='status'>{session['status']}</p>",
            )
        error = None
        if request.method == "POST":
            landing, error = self._attempt(session, card_outcome(request.form["card_number"]))
            if landing is not None:
                return Response(status=303, headers={"Location": landing})
        amount = f"{session['amount_total']} {session['currency'].upper()} (minor units)"
        cancel = session["cancel_url"] or "#"
        body = f"<p class='amount'>{amount}</p>" + card_form(f"/pay/{sid}", cancel, error)
        return html_page("Pay with card", body)

    # -- test helpers: what the customer or time does ------------------------------------------

    def pay(self, sid: str, card: str = "4242424242424242") -> str | None:
        """The customer submits ``card``; returns where the browser lands (None: still here)."""
        return self._run(lambda: self._attempt(self.sessions[sid], card_outcome(card))[0])

    def decline(self, sid: str, decline_code: str = "generic_decline") -> None:
        """A payment attempt on the session is declined with any Stripe decline code."""
        code = decline_code if decline_code in OWN_CODES else "card_declined"
        self._run(lambda: self._decline(self.sessions[sid], code, decline_code, "Declined."))

    def expire(self, sid: str) -> None:
        """The session's ``expires_at`` passes."""
        self._run(lambda: self._expire(self.sessions[sid]))

    def settle(self, sid: str, succeeded: bool = True) -> None:
        """A ``processing`` payment settles (checkout.session.async_payment_succeeded/failed)."""
        self._run(lambda: self._settle(self.sessions[sid], succeeded))

    def settle_refund(self, rid: str, succeeded: bool = True, failure_reason: str = "") -> None:
        """A pending refund succeeds, or (pending or not) fails, as refund.updated says."""
        self._run(lambda: self._settle_refund(self.refunds[rid], succeeded, failure_reason))

    def signature(self, payload: bytes, timestamp: int | None = None, secret: str = "") -> str:
        return signature_header(payload, secret or self.webhook_secret, timestamp)

    def send_event(
        self, event: dict[str, Any], *, secret: str = "", timestamp: int | None = None
    ) -> Any:
        """Send an arbitrary (e.g. forged or stale) event to the notification URL."""
        assert self.notification_url, "set notification_url first"
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": self.signature(body, timestamp, secret),
        }
        return self.send_raw(self.notification_url, headers, body)

    # -- state changes -------------------------------------------------------------------------

    def _intent_for(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["payment_intent"]:
            return self.payment_intents[session["payment_intent"]]
        intent = objects.payment_intent(session, self.livemode)
        self.payment_intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        return intent

    def _session_of(self, intent: dict[str, Any]) -> dict[str, Any]:
        return next(s for s in self.sessions.values() if s["payment_intent"] == intent["id"])

    def _charge(self, intent: dict[str, Any], status: str, captured: bool) -> dict[str, Any]:
        charge = objects.charge(intent, status, captured, self.livemode)
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        intent["payment_method"] = new_id("pm_")
        return charge

    def _attempt(self, session: dict[str, Any], outcome: CardOutcome) -> tuple[str | None, str]:
        if session["status"] != "open":
            return None, "This Checkout Session is no longer active."
        if outcome in DECLINES:
            code, decline_code, message = DECLINES[outcome]
            self._decline(session, code, decline_code, message)
            return None, message
        intent = self._intent_for(session)
        session["status"] = "complete"
        session["url"] = None
        if outcome is CardOutcome.PROCESSING:
            intent["status"] = "processing"
            self._charge(intent, "pending", captured=True)
        elif intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            self._charge(intent, "succeeded", captured=False)
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self._charge(intent, "succeeded", captured=True)
            session["payment_status"] = "paid"
        self._emit("checkout.session.completed", self._session_json(session, []))
        if intent["status"] == "succeeded":
            self._emit("payment_intent.succeeded", intent)
        landing = session["success_url"] or f"{self.url}/pay/{session['id']}"
        return landing.replace("{CHECKOUT_SESSION_ID}", session["id"]), ""

    def _decline(
        self, session: dict[str, Any], code: str, decline_code: str | None, message: str
    ) -> None:
        intent = self._intent_for(session)
        charge = self._charge(intent, "failed", captured=False)
        charge.update(failure_code=code, failure_message=message)
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = objects.card_error(code, decline_code, message, charge["id"])
        self._emit("payment_intent.payment_failed", intent)

    def _expire(self, session: dict[str, Any]) -> None:
        session.update(status="expired", url=None)
        if session["payment_intent"]:
            intent = self.payment_intents[session["payment_intent"]]
            intent.update(status="canceled", canceled_at=int(time.time()))
            intent["cancellation_reason"] = "abandoned"
        self._emit("checkout.session.expired", self._session_json(session, []))

    def _settle(self, session: dict[str, Any], succeeded: bool) -> None:
        intent = self.payment_intents[session["payment_intent"]]
        assert intent["status"] == "processing", f"nothing to settle ({intent['status']})"
        charge = self.charges[intent["latest_charge"]]
        if succeeded:
            intent.update(status="succeeded", amount_received=intent["amount"])
            charge.update(status="succeeded", paid=True)
            session["payment_status"] = "paid"
            self._emit("checkout.session.async_payment_succeeded", self._session_json(session, []))
            self._emit("payment_intent.succeeded", intent)
            return
        charge.update(status="failed", captured=False, amount_captured=0)
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = objects.card_error(
            "card_declined", "generic_decline", "Your card was declined.", charge["id"]
        )
        self._emit("checkout.session.async_payment_failed", self._session_json(session, []))
        self._emit("payment_intent.payment_failed", intent)

    def _settle_refund(self, refund: dict[str, Any], succeeded: bool, reason: str) -> None:
        if succeeded:
            refund["status"] = "succeeded"
        else:
            charge = self.charges[refund["charge"]]
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
            refund.update(status="failed", failure_reason=reason or "expired_or_canceled_card")
        self._emit("refund.updated", refund)

    def _session_json(self, session: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        shown = {k: v for k, v in session.items() if k not in ("payment_intent_data", "lines")}
        if "payment_intent" in expand and session["payment_intent"]:
            shown["payment_intent"] = self.payment_intents[session["payment_intent"]]
        if "line_items" in expand:
            shown["line_items"] = {"object": "list", "data": session["lines"], "has_more": False}
        return objects.snapshot(shown)

    def _emit(self, event_type: str, obj: dict[str, Any]) -> None:
        event = objects.event(event_type, obj, self.livemode)
        self.events.append(event)
        wanted = self.subscribed_events is None or event_type in self.subscribed_events
        if not self.notification_url or not wanted:
            return
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": self.signature(body),
        }
        self.queue_notification(self.notification_url, headers, body)
