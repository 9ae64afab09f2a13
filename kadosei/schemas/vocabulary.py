"""The contract's vocabularies (docs/api.md §1, §4, §7): modes, payment methods, session
statuses and event types. Declared once, below the models that store them and the request
models that accept them."""

from __future__ import annotations

MODES = ("test", "live")

PAYMENT_METHODS = ("card", "ideal", "bancontact", "sepa_debit", "paypal", "klarna")

SESSION_STATUSES = ("open", "processing", "succeeded", "failed", "canceled", "expired")

EVENT_TYPES = (
    "payment_session.processing",
    "payment_session.succeeded",
    "payment_session.failed",
    "payment_session.canceled",
    "payment_session.expired",
    "payment_session.conflict",
    "refund.created",
    "refund.succeeded",
    "refund.failed",
    "webhook.test",
)

REFUND_STATUSES = ("pending", "succeeded", "failed")

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
