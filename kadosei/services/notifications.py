"""Provider notifications (docs/api.md §5 step 4): verify, record, apply through the state machine.

Every verified notification is stored with the effect it had, including the duplicate, late
and out-of-order ones that change nothing. One that does not verify is a 400 and changes
nothing. Every provider reaches it through ``POST /providers/<provider>/notifications``: real
ones over HTTP, the built-in sandbox PSPs in-process through the WSGI app.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm.attributes import set_committed_value

from kadosei import bounded_json
from kadosei.errors import InvalidRequest, NotFound, NotificationTooEarly, ProviderUnavailable
from kadosei.extensions import db
from kadosei.models import Attempt, ProviderNotification
from kadosei.models.base import utcnow
from kadosei.providers.base import (
    InvalidNotification,
    PaymentStatus,
    ProviderError,
    RefundStatus,
)
from kadosei.services.late_holds import release_unused_hold_later
from kadosei.services.provider_choice import get_provider
from kadosei.services.refund_confirmation import apply_refund_notification
from kadosei.services.session_state import apply_provider_status, lock_session, reload_attempt

log = logging.getLogger("kadosei.payments")
# A checkout creation takes at most the adapters' timeout; an attempt still ``creating`` after
# this long was cut short (its worker died) and is the reconciliation sweep's business.
CREATION_WINDOW = timedelta(minutes=2)


def handle_provider_notification(
    provider_name: str, body: bytes, headers: Mapping[str, str]
) -> tuple[int, str, str]:
    """Verify ``body`` with the named provider's adapter, apply every payment it reports
    (commits), and return the acknowledgement the provider expects: (status, body, mimetype)."""
    provider = get_provider(provider_name)
    if provider is None:
        raise NotFound(f"No such provider '{provider_name}'")
    try:
        facts = provider.read_notification(body, headers)
    except InvalidNotification as exc:
        log.warning("notification from %s refused: %s", provider_name, exc)
        raise InvalidRequest(
            "The notification could not be verified", code="notification_invalid"
        ) from None
    except ProviderError as exc:  # a verified notification that needs the provider's word
        log.warning("notification from %s not applied: the provider did not answer (%s)",
                    provider_name, exc.code)  # fmt: skip
        raise ProviderUnavailable(
            f"{provider.display_name} did not answer; nothing changed, send it again later"
        ) from None
    unused_holds: list[str] = []
    for reported in facts:
        if isinstance(reported, PaymentStatus):
            attempt_id, effect = _apply_payment_fact(provider.name, reported, body)
            if effect == "unused_hold":
                unused_holds.append(attempt_id)
        else:
            _apply_refund_fact(provider.name, reported, body)
    db.session.commit()
    for attempt_id in unused_holds:  # money held for a session that cannot use it: void it
        release_unused_hold_later(attempt_id)
    return provider.notification_ack


def _apply_payment_fact(
    provider_name: str, reported: PaymentStatus, body: bytes
) -> tuple[str | None, str]:
    """Apply one payment's news: (its attempt's id, the effect stored with the notification)."""
    attempt = _attempt_of(provider_name, reported)
    effect = "unknown_payment"
    if attempt is None and _checkout_creation_in_flight(provider_name):
        # Probably this very payment, notified before kadosei has stored the provider's answer
        # to the create call: the provider retries a refused notification, so nothing is lost.
        db.session.rollback()
        raise NotificationTooEarly(
            "This payment is not known yet; send the notification again in a few seconds",
            headers={"Retry-After": "5"},
        )
    if attempt is not None:
        session = lock_session(attempt.session_id)
        attempt = reload_attempt(attempt.id)
        set_committed_value(attempt, "session", session)  # the row just locked: no reload
        effect = apply_provider_status(session, attempt, reported, cause="provider notification")
    db.session.add(_notification_row(provider_name, attempt, reported, effect, body))
    return (attempt.id if attempt is not None else None), effect


def _attempt_of(provider_name: str, reported: PaymentStatus) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            Attempt.provider == provider_name,
            # Adyen reports captures and voids under the payment's own pspReference.
            or_(
                Attempt.provider_reference == reported.provider_reference,
                Attempt.payment_reference == reported.provider_reference,
            ),
        )
    )


def _apply_refund_fact(provider_name: str, reported: RefundStatus, body: bytes) -> None:
    """A refund's news: applied once (a late or repeated one is recorded, changes nothing)."""
    refund, effect = apply_refund_notification(provider_name, reported)
    db.session.add(
        ProviderNotification(
            provider=provider_name,
            provider_reference=(reported.provider_refund_reference or "")[:100] or None,
            attempt_id=refund.attempt_id if refund else None,
            reported_status=f"refund_{reported.status}"[:20],
            effect=effect,
            payload=_payload(reported, body),
        )
    )


def _checkout_creation_in_flight(provider_name: str) -> bool:
    """Whether kadosei is, right now, waiting on this provider to create a checkout."""
    recent = utcnow() - CREATION_WINDOW
    return (
        db.session.scalar(
            select(Attempt.pk)
            .where(
                Attempt.provider == provider_name,
                Attempt.status == "creating",
                Attempt.created_at >= recent,
            )
            .limit(1)
        )
        is not None
    )


def _notification_row(
    provider_name: str,
    attempt: Attempt | None,
    reported: PaymentStatus,
    effect: str,
    body: bytes,
) -> ProviderNotification:
    return ProviderNotification(
        provider=provider_name,
        provider_reference=reported.provider_reference[:100],
        attempt_id=attempt.id if attempt else None,
        reported_status=reported.status[:20],
        effect=effect,
        payload=_payload(reported, body),
    )


def _payload(reported: PaymentStatus | RefundStatus, body: bytes) -> dict:
    """What the provider sent, as stored JSON (the parsed body when it is a JSON object)."""
    try:
        parsed = bounded_json.load(body)
    except bounded_json.RefusedJson:
        parsed = None
    if isinstance(parsed, dict) and not bounded_json.holds_unstorable(parsed):
        return parsed
    return {"raw": {str(k): str(v) for k, v in dict(reported.raw).items()}}
