"""One delivery try: claim a due delivery, send one signed try, record it, schedule the next.

A delivery is claimed with a conditional UPDATE that sets a lease (``locked_until``), so two
threads or workers never send it at once; a crashed worker's lease runs out and the delivery is
due and unclaimed again (the worker's delivery pool, ``kadosei.webhooks.pool``, claims it). The
live leases are also what caps the deliveries in flight to one endpoint, across every worker:
claims for an endpoint are serialised and recounted before they commit (``claim_deliveries``).
No database transaction stays open while the receiver is being called.

``now`` drives every scheduling decision (due, lease, next try), so tests can move the clock;
the ``webhook-timestamp`` header always carries the real time, as receivers check it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, insert, or_, select, update

from kadosei.extensions import db
from kadosei.metrics import webhook_try_ended, webhook_try_started
from kadosei.models import DeliveryTry, Event, WebhookDelivery, WebhookEndpoint
from kadosei.models.base import utcnow
from kadosei.webhooks import transport
from kadosei.webhooks.destinations import UnsafeDestination, resolve_destination
from kadosei.webhooks.schedule import next_try_at
from kadosei.webhooks.signing import event_body, signed_headers, signing_secrets

log = logging.getLogger("kadosei.webhooks")

GONE_REASON = "The receiver answered 410 Gone"


@dataclass(frozen=True)
class Outgoing:
    """Everything one try needs, read before the transaction is closed for the HTTP call."""

    url: str
    mode: str
    message_id: str
    body: str
    secrets: list[str]


@dataclass(frozen=True)
class Claim:
    """A delivery this worker holds until ``lease``: the try to make, as claimed at ``at``."""

    delivery_id: str
    endpoint_id: str
    lease: datetime
    at: datetime
    outgoing: Outgoing
    tries_before: int  # tries made before this one (the lease keeps the count ours)


def deliver_webhook(delivery_id: str, now: datetime | None = None) -> str:
    """Make one try of a due delivery; returns what came of it (for logs and tests). Also the
    RQ job of earlier releases, so deliveries queued as jobs still go out."""
    now = now or utcnow()
    lease = _claim(delivery_id, now)
    if lease is None:
        db.session.rollback()
        return "skipped"  # not due, done, held by another worker, or its endpoint is full
    delivery, endpoint, event = delivery_rows([delivery_id])[0]
    outgoing = outgoing_or_cancel(delivery, endpoint, event, now)
    # Read before the commit, which expires the rows (reading them after would load them again).
    claim = None
    if outgoing is not None:
        claim = Claim(delivery_id, endpoint.id, lease, now, outgoing, delivery.attempt_count)
    db.session.commit()  # the claim is taken; nothing stays open while the receiver answers
    if claim is None:
        return "canceled"
    return make_try(claim)


@dataclass(frozen=True)
class Tried:
    """A try made and not recorded yet: its claim, what came of it, when it began (metrics)."""

    claim: Claim
    result: transport.TryResult
    began: float


def make_try(claim: Claim) -> str:
    """Send the claimed try and record it (the retry becomes due at its time); commits."""
    return record_tries([send_claimed(claim)])[0]


def send_claimed(claim: Claim) -> Tried:
    """Send the claimed try; it is in flight until ``record_tries`` records it."""
    began = webhook_try_started()
    try:
        return Tried(claim, send_try(claim.outgoing), began)
    except Exception:
        webhook_try_ended(began, "error")
        raise


def record_tries(tried: list[Tried]) -> list[str]:
    """Record tries made (the retries become due at their times) in one transaction, which
    this commits; their outcomes, in order. If that fails, none is recorded and the error
    propagates: their leases lapse and they are sent again (at least once)."""
    try:
        outcomes = _record(tried)
        db.session.commit()
    except Exception:
        db.session.rollback()
        for each in tried:
            webhook_try_ended(each.began, "error")
        raise
    for each, outcome in zip(tried, outcomes, strict=True):
        webhook_try_ended(each.began, outcome)
        said = each.result.status_code or each.result.error
        log.info("webhook %s: %s (%s)", each.claim.delivery_id, outcome, said)
    return outcomes


def send_try(outgoing: Outgoing) -> transport.TryResult:
    """Check the destination again after DNS, sign and POST; refusals are failed tries."""
    config = current_app.config
    try:
        destination = resolve_destination(
            outgoing.url, outgoing.mode, allow_private=config["KADOSEI_WEBHOOK_ALLOW_PRIVATE"]
        )
    except UnsafeDestination as exc:
        return transport.TryResult(None, None, f"Refused: {exc}", 0)
    headers = signed_headers(outgoing.message_id, outgoing.body, outgoing.secrets)
    return transport.post(
        destination, outgoing.body.encode(), headers, config["KADOSEI_WEBHOOK_TIMEOUT"]
    )


def cancel_pending_deliveries(endpoint_id: str, now: datetime) -> None:
    """Stop every pending delivery of an endpoint (disabled or deleted); the caller commits."""
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .values(status="canceled", completed_at=now, next_attempt_at=None, locked_until=None)
        .execution_options(synchronize_session=False)
    )


def claimable(now: datetime) -> tuple:
    """The conditions of a delivery one may claim at ``now``: pending, due and unclaimed."""
    return (
        WebhookDelivery.status == "pending",
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
    )


def lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=current_app.config["KADOSEI_WEBHOOK_LEASE_SECONDS"])


def claim_deliveries(
    picked: list[tuple[str, str]], per_endpoint: int, now: datetime
) -> tuple[datetime, list[str]]:
    """Claim those of the (delivery, endpoint) pairs still claimable, keeping each endpoint at
    most ``per_endpoint`` live leases, counted in the database across every worker; returns
    the lease and the deliveries won, in the given order. The caller commits.

    ``picked`` was chosen from counts that may be stale by now (another worker's claim may
    have committed since), so the count that decides is taken again after the claiming
    UPDATE, while no other claim for these endpoints can commit: on PostgreSQL each endpoint's
    row is locked first (``_lock_endpoints``), and SQLite has a single writer, which the
    UPDATE takes. Claims that would put an endpoint over its cap are given back."""
    lease = lease_until(now)
    _lock_endpoints({endpoint_id for _, endpoint_id in picked})
    won = set(
        db.session.scalars(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_([delivery_id for delivery_id, _ in picked]))
            .where(*claimable(now))
            .values(locked_until=lease)
            .returning(WebhookDelivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    return lease, _within_cap([pair for pair in picked if pair[0] in won], per_endpoint, now)


def live_leases(now: datetime, endpoint_ids: set[str] | None = None) -> dict[str, int]:
    """Deliveries under a live lease (in flight or about to be), per endpoint; claimed ones
    are due, so the (status, next_attempt_at) index serves."""
    query = (
        select(WebhookDelivery.endpoint_id, func.count())
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.locked_until >= now,
        )
        .group_by(WebhookDelivery.endpoint_id)
    )
    if endpoint_ids is not None:
        query = query.where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
    return {endpoint_id: int(count) for endpoint_id, count in db.session.execute(query)}


def _lock_endpoints(endpoint_ids: set[str]) -> None:
    """Serialise claims per endpoint until the transaction ends. PostgreSQL: a row lock on each
    endpoint, taken in one order so claimers never deadlock, and ``FOR NO KEY UPDATE`` so new
    deliveries (whose foreign key shares the row) are never held up. SQLite renders no lock
    clause: its one writer serialises every claim."""
    db.session.execute(
        select(WebhookEndpoint.id)
        .where(WebhookEndpoint.id.in_(endpoint_ids))
        .order_by(WebhookEndpoint.id)
        .with_for_update(key_share=True)
    )


def _within_cap(won: list[tuple[str, str]], per_endpoint: int, now: datetime) -> list[str]:
    """The claims just won, less the latest of those over an endpoint's cap (given back)."""
    if not won:
        return []
    over = {
        endpoint_id: count - per_endpoint
        for endpoint_id, count in live_leases(now, {endpoint for _, endpoint in won}).items()
        if count > per_endpoint
    }
    given_back: set[str] = set()
    for delivery_id, endpoint_id in reversed(won):
        if over.get(endpoint_id, 0) > 0:
            over[endpoint_id] -= 1
            given_back.add(delivery_id)
    if given_back:
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(given_back))
            .values(locked_until=None)
            .execution_options(synchronize_session=False)
        )
    return [delivery_id for delivery_id, _ in won if delivery_id not in given_back]


def _claim(delivery_id: str, now: datetime) -> datetime | None:
    """Claim one delivery, within its endpoint's cap like the pools' claims."""
    endpoint_id = db.session.scalar(
        select(WebhookDelivery.endpoint_id).where(WebhookDelivery.id == delivery_id)
    )
    if endpoint_id is None:
        return None
    per_endpoint = current_app.config["KADOSEI_WEBHOOK_PER_ENDPOINT"]
    lease, won = claim_deliveries([(delivery_id, endpoint_id)], per_endpoint, now)
    return lease if won else None


def delivery_rows(delivery_ids: list[str]) -> list:
    """(delivery, endpoint, event) rows of the given deliveries."""
    return list(
        db.session.execute(
            select(WebhookDelivery, WebhookEndpoint, Event)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id.in_(delivery_ids))
        )
    )


def outgoing_or_cancel(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, event: Event, now: datetime
) -> Outgoing | None:
    """The try to make, or ``None`` (delivery canceled) when its endpoint no longer takes any."""
    if not endpoint.enabled or endpoint.deleted_at is not None:
        delivery.status = "canceled"
        delivery.completed_at = now
        delivery.next_attempt_at = delivery.locked_until = None
        return None
    return Outgoing(
        url=endpoint.url,
        mode=endpoint.mode,
        message_id=event.id,
        body=event_body(event),
        secrets=signing_secrets(endpoint, now),
    )


def _record(tried: list[Tried]) -> list[str]:
    """Log the tries (one statement) and move each delivery on; their outcomes. A delivery
    moves only while the lease its try was made under holds: a try whose lease ran out
    (another worker took the delivery over) is logged, and the delivery left to that worker."""
    connection = db.session.connection()
    connection.execute(_LOG_TRY, [_logged(each.claim, each.result) for each in tried])
    return [_move_on(connection, each.claim, each.result) for each in tried]


def _logged(claim: Claim, result: transport.TryResult) -> dict:
    return {
        "delivery_id": claim.delivery_id,
        "attempted_at": claim.at,
        "status_code": result.status_code,
        "response_body": result.response_body,
        "error": result.error[:500] if result.error else None,
        "duration_ms": result.duration_ms,
        "succeeded": result.succeeded,
        "details": {"url": claim.outgoing.url},
    }


def _move_on(connection, claim: Claim, result: transport.TryResult) -> str:
    now, tries = claim.at, claim.tries_before + 1
    if result.succeeded:
        outcome, retry_at = "succeeded", None
    elif result.status_code == 410:
        outcome, retry_at = "gone", None
    else:
        retry_at = next_try_at(tries, now)
        outcome = "retry" if retry_at is not None else "failed"
    moved = connection.execute(
        _MOVE_ON,
        {
            "delivery_id": claim.delivery_id,
            "lease": claim.lease,
            "tries": tries,
            "now": now,
            "code": result.status_code,
            "status": "pending" if retry_at else "succeeded" if result.succeeded else "failed",
            "completed_at": None if retry_at else now,
            "next_at": retry_at,
            "enqueued_at": now if retry_at else None,
        },
    ).rowcount
    if not moved:
        return "superseded"  # our lease ran out; another took over
    if outcome == "gone":
        _disable_gone_endpoint(claim.endpoint_id, now)
    return outcome


_DELIVERIES, _TRIES = WebhookDelivery.__table__, DeliveryTry.__table__
# Built once: a try is recorded many times a second, and building a statement costs more than
# running it. The delivery moves on only under the lease the try was made with.
_LOG_TRY = insert(_TRIES)
_MOVE_ON = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery_id"))
    .where(_DELIVERIES.c.locked_until == bindparam("lease"))
    .values(
        attempt_count=bindparam("tries"),
        last_attempt_at=bindparam("now"),
        last_status_code=bindparam("code"),
        locked_until=None,
        status=bindparam("status"),
        completed_at=bindparam("completed_at"),
        next_attempt_at=bindparam("next_at"),
        enqueued_at=func.coalesce(bindparam("enqueued_at"), _DELIVERIES.c.enqueued_at),
    )
)


def _disable_gone_endpoint(endpoint_id: str, now: datetime) -> None:
    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    endpoint.enabled = False
    endpoint.disabled_reason = GONE_REASON
    db.session.flush()
    cancel_pending_deliveries(endpoint_id, now)
