"""What an operator's probes and dashboards read (docs/operations.md): readiness of the
database and the queue, and the figures the database holds, computed at scrape time so that
every instance reports the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from kadosei.extensions import db
from kadosei.jobs.queue import get_queue, redis_connection
from kadosei.models import DeliveryTry, PaymentSession, Refund, WebhookDelivery
from kadosei.models.base import utcnow


@dataclass(frozen=True)
class Readiness:
    """``ready``: the database answers (without it nothing works). The queue down is
    ``degraded``: payments still work, webhooks wait in the outbox until it is back."""

    database: bool
    queue: bool

    @property
    def status(self) -> str:
        if not self.database:
            return "unavailable"
        return "ready" if self.queue else "degraded"

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "checks": {
                "database": "ok" if self.database else "unreachable",
                "queue": "ok" if self.queue else "unreachable",
            },
        }


def check_readiness() -> Readiness:
    return Readiness(database=_database_answers(), queue=_queue_answers())


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        db.session.rollback()


def _queue_answers() -> bool:
    try:
        return bool(redis_connection().ping())
    except (redis.RedisError, OSError):
        return False


def database_metrics() -> bytes:
    """The database's figures in Prometheus text format (empty if it cannot be read)."""
    registry = CollectorRegistry()
    registry.register(_DatabaseCollector())
    return generate_latest(registry)


class _DatabaseCollector:
    def collect(self):
        try:
            yield from _session_families()
            yield from _delivery_families()
            yield _refund_family()
        except SQLAlchemyError:
            db.session.rollback()
        yield _queue_family()

    def describe(self):
        return []


def _session_families():
    sessions = GaugeMetricFamily(
        "kadosei_payment_sessions", "Payment sessions by mode and status", labels=["mode", "status"]
    )
    rows = db.session.execute(
        select(PaymentSession.mode, PaymentSession.status, func.count()).group_by(
            PaymentSession.mode, PaymentSession.status
        )
    )
    for mode, status, count in rows:
        sessions.add_metric([mode, status], count)
    yield sessions


def _refund_family():
    refunds = GaugeMetricFamily(
        "kadosei_refunds", "Refunds by mode and status", labels=["mode", "status"]
    )
    rows = db.session.execute(
        select(Refund.mode, Refund.status, func.count()).group_by(Refund.mode, Refund.status)
    )
    for mode, status, count in rows:
        refunds.add_metric([mode, status], count)
    return refunds


def _delivery_families():
    deliveries = GaugeMetricFamily(
        "kadosei_webhook_deliveries",
        "Webhook deliveries (an event owed to an endpoint) by status",
        labels=["status"],
    )
    for status, count in db.session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    ):
        deliveries.add_metric([status], count)
    yield deliveries

    tries = GaugeMetricFamily(
        "kadosei_webhook_delivery_tries",
        "HTTP tries of webhook deliveries by outcome",
        labels=["outcome"],
    )
    for succeeded, count in db.session.execute(
        select(DeliveryTry.succeeded, func.count()).group_by(DeliveryTry.succeeded)
    ):
        tries.add_metric(["succeeded" if succeeded else "failed"], count)
    yield tries

    now = utcnow()
    due = db.session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
    )
    overdue = db.session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now - timedelta(minutes=1),
        )
    )
    backlog = GaugeMetricFamily(
        "kadosei_webhook_deliveries_due",
        "Pending deliveries whose time has come (overdue: for more than a minute)",
        labels=["age"],
    )
    backlog.add_metric(["due"], due or 0)
    backlog.add_metric(["overdue"], overdue or 0)
    yield backlog


def _queue_family():
    depth = GaugeMetricFamily(
        "kadosei_queue_depth", "Jobs waiting on the queue (-1 when the queue is unreachable)"
    )
    try:
        depth.add_metric([], get_queue().count)
    except (redis.RedisError, OSError):
        depth.add_metric([], -1)
    return depth
