"""The contract's vocabularies (docs/api.md §1, §4, §7, §11): modes, payment methods, session
statuses, event types and team roles. Declared once, below the models that store them and the
request models that accept them."""

from __future__ import annotations

MODES = ("test", "live")

PAYMENT_METHODS = ("card", "ideal", "bancontact", "sepa_debit", "paypal", "klarna")

SESSION_STATUSES = (
    "open",
    "processing",
    "requires_capture",
    "succeeded",
    "failed",
    "canceled",
    "expired",
)

# How a session takes its money (docs/api.md §4.2): at once, or authorised now, captured later.
CAPTURE_METHODS = ("automatic", "manual")

EVENT_TYPES = (
    "payment_session.processing",
    "payment_session.requires_capture",
    "payment_session.succeeded",
    "payment_session.attempt_failed",
    "payment_session.failed",
    "payment_session.canceled",
    "payment_session.expired",
    "payment_session.conflict",
    "refund.created",
    "refund.succeeded",
    "refund.failed",
    "webhook.test",
)

# docs/api.md §11, most to least; ``kadosei.permissions.Role`` orders them.
ROLES = ("owner", "developer", "viewer")

REFUND_STATUSES = ("pending", "succeeded", "failed")

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
