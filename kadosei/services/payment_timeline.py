"""One payment session's history as a timeline: what happened to it, in time order
(docs/api.md §8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kadosei.models import (
    Attempt,
    Event,
    PaymentSession,
    ProviderNotification,
    Refund,
    SessionTransition,
    WebhookDelivery,
)
from kadosei.services import event_log, provider_notifications
from kadosei.services.refunds import session_refunds

# At the same instant, a cause comes before what it caused.
_KIND_ORDER = {
    "created": 0,
    "attempt": 1,
    "refund": 2,
    "notification": 3,
    "transition": 4,
    "event": 5,
}


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened: ``kind`` says which of the fields is set."""

    at: datetime
    kind: str
    sequence: int
    attempt: Attempt | None = None
    notification: ProviderNotification | None = None
    transition: SessionTransition | None = None
    event: Event | None = None
    refund: Refund | None = None
    deliveries: tuple[WebhookDelivery, ...] = ()


def session_timeline(session: PaymentSession) -> list[TimelineEntry]:
    """Created, each attempt, each refund, each provider notification, each status change and
    each event with its webhook deliveries, oldest first."""
    entries = [TimelineEntry(session.created_at, "created", session.pk)]
    entries += [TimelineEntry(a.created_at, "attempt", a.pk, attempt=a) for a in session.attempts]
    entries += [
        TimelineEntry(n.received_at, "notification", n.pk, notification=n)
        for n in provider_notifications.for_session(session)
    ]
    entries += [
        TimelineEntry(t.created_at, "transition", t.pk, transition=t) for t in session.transitions
    ]
    entries += [
        TimelineEntry(r.created_at, "refund", r.pk, refund=r) for r in session_refunds(session.id)
    ]
    events = event_log.session_events(session.id)
    deliveries = event_log.deliveries_by_event(events)
    entries += [
        TimelineEntry(
            e.created_at, "event", e.pk, event=e, deliveries=tuple(deliveries.get(e.id, ()))
        )
        for e in events
    ]
    return sorted(entries, key=lambda entry: (entry.at, _KIND_ORDER[entry.kind], entry.sequence))
