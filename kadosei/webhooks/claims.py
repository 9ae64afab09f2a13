"""Claiming due deliveries fairly, many at a time, for a worker's delivery pool.

Each endpoint gets at most ``per_endpoint`` deliveries in flight, counted from the leases in the
database, so across every worker process and host, and the deliveries claimed in one go are
taken round-robin across endpoints, oldest first within each: a receiver that hangs holds its
own slots and no one else's. The pick below is planned from counts read without a lock; the
claim itself (``claim_deliveries``, the same as a single try's: pending, due, no live lease)
is serialised per endpoint and recounted before it commits, so two workers claiming for one
endpoint at once never take more than its share between them, nor the same row twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from kadosei.extensions import db
from kadosei.metrics import WEBHOOK_CLAIM_LAG_SECONDS
from kadosei.models import WebhookDelivery
from kadosei.models.base import utcnow
from kadosei.webhooks.delivery import (
    Claim,
    claim_deliveries,
    claimable,
    delivery_rows,
    live_leases,
    outgoing_or_cancel,
)


def claim_due_deliveries(limit: int, per_endpoint: int, now: datetime | None = None) -> list[Claim]:
    """Claim up to ``limit`` due deliveries, fairly across endpoints; commits. The claims come
    in the order to send them (round-robin); canceled ones (endpoint disabled) are left out."""
    now = now or utcnow()
    if limit < 1:
        return []
    in_flight = live_leases(now)
    picked = _pick_fairly(_candidates(now, limit, per_endpoint, in_flight), limit, per_endpoint)
    if not picked:
        db.session.rollback()
        return []
    lease, won = claim_deliveries(picked, per_endpoint, now)
    claims: dict[str, Claim] = {}
    for delivery, endpoint, event in delivery_rows(won) if won else []:
        outgoing = outgoing_or_cancel(delivery, endpoint, event, now)
        if outgoing is not None:
            claims[delivery.id] = Claim(
                delivery.id, endpoint.id, lease, now, outgoing, delivery.attempt_count
            )
            WEBHOOK_CLAIM_LAG_SECONDS.observe((now - delivery.next_attempt_at).total_seconds())
    db.session.commit()
    return [claims[delivery_id] for delivery_id in won if delivery_id in claims]


def release_claims(claims: list[Claim]) -> None:
    """Give back claims that were never sent (a stopping worker), so they are due at once."""
    for claim in claims:
        db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.delivery_id,
                WebhookDelivery.locked_until == claim.lease,
            )
            .values(locked_until=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _candidates(
    now: datetime, limit: int, per_endpoint: int, in_flight: dict[str, int]
) -> list[tuple[str, str, int]]:
    """(delivery, endpoint, free slots) of the oldest due unclaimed deliveries, ranked within
    their endpoint and ordered rank first, so every endpoint's oldest comes before any second."""
    full = [endpoint_id for endpoint_id, count in in_flight.items() if count >= per_endpoint]
    rank = func.row_number().over(
        partition_by=WebhookDelivery.endpoint_id,
        order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.pk),
    )
    due = (
        select(
            WebhookDelivery.id,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.next_attempt_at,
            rank.label("rank"),
        )
        .where(*claimable(now))
        .where(WebhookDelivery.endpoint_id.not_in(full))
        .subquery()
    )
    busy = sum(min(count, per_endpoint) for count in in_flight.values())
    rows = db.session.execute(
        select(due.c.id, due.c.endpoint_id)
        .where(due.c.rank <= per_endpoint)
        .order_by(due.c.rank, due.c.next_attempt_at)
        .limit(limit + busy)
    )
    return [(delivery_id, endpoint, in_flight.get(endpoint, 0)) for delivery_id, endpoint in rows]


def _pick_fairly(
    candidates: list[tuple[str, str, int]], limit: int, per_endpoint: int
) -> list[tuple[str, str]]:
    """(delivery, endpoint) pairs to claim, in order, none taking an endpoint past its cap."""
    taken: dict[str, int] = {}
    picked: list[tuple[str, str]] = []
    for delivery_id, endpoint_id, busy in candidates:
        if busy + taken.get(endpoint_id, 0) >= per_endpoint:
            continue
        taken[endpoint_id] = taken.get(endpoint_id, 0) + 1
        picked.append((delivery_id, endpoint_id))
        if len(picked) == limit:
            break
    return picked
