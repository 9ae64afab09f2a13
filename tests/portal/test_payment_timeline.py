"""A payment's page tells its story as one timeline (API.md §8): created, each attempt with its
provider and why, the provider's notifications, status changes, events and their webhook
deliveries — in the order they happened, whatever order they were stored in."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from kadosei.models import (
    Attempt,
    Event,
    ProviderNotification,
    SessionTransition,
    WebhookDelivery,
)
from kadosei.schemas.requests import WebhookEndpointCreate
from kadosei.services import webhook_endpoints
from kadosei.services.payment_timeline import session_timeline
from tests.portal.payment_search_support import signed_in, store_session

ENTRY = re.compile(
    r'<li class="timeline-entry timeline-(\w+)">\s*'
    r'<p class="timeline-when"><time datetime="([^"]+)Z"'
)
T0 = datetime(2026, 11, 20, 10, 0)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _story(db, application):
    """A session whose history is stored out of time order: later things got lower keys."""
    session = store_session(
        db, application, status="succeeded", provider="sandbox_orbit", created_at=T0
    )
    endpoint = webhook_endpoints.create_endpoint(
        application, WebhookEndpointCreate(url="https://hooks.shop.example/kadosei", mode="test")
    )
    succeeded = Event(
        application_id=application.id,
        mode="test",
        type="payment_session.succeeded",
        session_id=session.id,
        data={},
        created_at=_at(40.1),
    )
    processing = Event(
        application_id=application.id,
        mode="test",
        type="payment_session.processing",
        session_id=session.id,
        data={},
        created_at=_at(30.5),
    )
    db.session.add_all([
        SessionTransition(
            session_id=session.id, from_status="processing", to_status="succeeded",
            cause="provider notification", created_at=_at(40),
        ),
        SessionTransition(
            session_id=session.id, from_status="open", to_status="processing",
            cause="customer returned", created_at=_at(30),
        ),
        Attempt(
            id="pa_second", session_id=session.id, provider="sandbox_orbit", status="succeeded",
            provider_reference="orb_1", created_at=_at(20),
            explanation={"strategy": "learned", "rank": 2, "failover_after": ["sandbox_harbor"]},
        ),
        Attempt(
            id="pa_first", session_id=session.id, provider="sandbox_harbor", status="error",
            error_code="provider_unreachable", created_at=_at(10),
            explanation={"strategy": "learned", "rank": 1},
        ),
        ProviderNotification(
            provider="sandbox_orbit", provider_reference="orb_1", attempt_id="pa_second",
            reported_status="succeeded", effect="applied", received_at=_at(39),
        ),
        succeeded,
        processing,
    ])  # fmt: skip
    db.session.flush()
    db.session.add_all([
        WebhookDelivery(
            endpoint_id=endpoint.id, event_id=succeeded.id, event_type=succeeded.type,
            status="failed", attempt_count=3, last_attempt_at=_at(400), last_status_code=500,
        ),
        WebhookDelivery(
            endpoint_id=endpoint.id, event_id=processing.id, event_type=processing.type,
            status="delivered", attempt_count=1, last_attempt_at=_at(31), last_status_code=200,
        ),
    ])  # fmt: skip
    db.session.commit()
    return session, endpoint


def test_the_timeline_puts_everything_in_time_order(app, db, factories):
    merchant, _ = factories.make_merchant()
    session, _ = _story(db, factories.make_application(merchant))

    timeline = session_timeline(session)

    assert [(entry.kind, entry.at) for entry in timeline] == [
        ("created", T0),
        ("attempt", _at(10)),
        ("attempt", _at(20)),
        ("transition", _at(30)),
        ("event", _at(30.5)),
        ("notification", _at(39)),
        ("transition", _at(40)),
        ("event", _at(40.1)),
    ]
    assert [a.id for a in (timeline[1].attempt, timeline[2].attempt)] == ["pa_first", "pa_second"]
    assert [d.last_status_code for d in timeline[4].deliveries] == [200]
    assert [d.last_status_code for d in timeline[7].deliveries] == [500]


def test_the_payment_page_shows_the_timeline_with_why_and_each_delivery(app, db, factories):
    merchant, user = factories.make_merchant()
    session, endpoint = _story(db, factories.make_application(merchant))

    page = html.unescape(signed_in(app, user).get(f"/payments/{session.id}").get_data(as_text=True))

    entries = ENTRY.findall(page)
    assert [kind for kind, _ in entries] == [
        "created", "attempt", "attempt", "transition", "event", "notification", "transition",
        "event",
    ]  # fmt: skip
    times = [datetime.fromisoformat(when) for _, when in entries]
    assert times == sorted(times) and times[0] == T0
    order = [
        "Sent to Harbor", "provider_unreachable", 'id="why-pa_first"',
        "Sent to Orbit", "Retried on Orbit after Harbor could not be reached",
        'id="why-pa_second"',
        "customer returned", "payment_session.processing", "HTTP 200",
        "Notification from sandbox_orbit", "provider notification",
        "payment_session.succeeded", "HTTP 500", "3 tries",
    ]  # fmt: skip
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert page.count(f"/webhooks/{endpoint.id}/deliveries/wd_") == 2


def test_a_session_nobody_opened_yet_has_just_its_creation(app, db, factories):
    merchant, user = factories.make_merchant()
    session = store_session(db, factories.make_application(merchant), created_at=T0)

    page = signed_in(app, user).get(f"/payments/{session.id}").get_data(as_text=True)

    assert [kind for kind, _ in ENTRY.findall(page)] == ["created"]
    assert "The customer has not opened the checkout yet." in page
