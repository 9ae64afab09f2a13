"""Every model, imported so that metadata (and migrations) see them all."""

from kadosei.models.application import ApiKey, Application
from kadosei.models.auth import AuditEvent, RecoveryCode, RefreshToken
from kadosei.models.event import Event
from kadosei.models.merchant import Invitation, Merchant, User
from kadosei.models.payment import (
    TERMINAL_STATUSES,
    Attempt,
    IdempotencyRecord,
    PaymentSession,
    ProviderNotification,
    SessionTransition,
)
from kadosei.models.refund import Refund
from kadosei.models.routing import ROUTING_RULE_KINDS, RoutingRule
from kadosei.models.webhook import DeliveryTry, WebhookDelivery, WebhookEndpoint
from kadosei.schemas.vocabulary import EVENT_TYPES, MODES, PAYMENT_METHODS, SESSION_STATUSES

__all__ = [
    "EVENT_TYPES",
    "MODES",
    "PAYMENT_METHODS",
    "ROUTING_RULE_KINDS",
    "SESSION_STATUSES",
    "TERMINAL_STATUSES",
    "ApiKey",
    "Application",
    "Attempt",
    "AuditEvent",
    "DeliveryTry",
    "Event",
    "IdempotencyRecord",
    "Invitation",
    "Merchant",
    "PaymentSession",
    "ProviderNotification",
    "RecoveryCode",
    "RefreshToken",
    "Refund",
    "RoutingRule",
    "SessionTransition",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
