"""How a refund ends: what the provider says about it, by notification or when asked
(docs/api.md §4.3). THE one place a refund changes status.

``pending → succeeded | failed``, each announced once (``refund.succeeded``,
``refund.failed``); a late or repeated report changes nothing twice. ``refund.created`` is
announced when the provider has accepted the refund (its reference is first known). A
succeeded refund adds to the session's ``amount_refunded``, under the session's lock.
Helpers here only flush; the calling use case commits.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select

from kadosei.extensions import db
from kadosei.models import Attempt, PaymentSession, Refund
from kadosei.models.base import utcnow
from kadosei.providers.base import (
    REFUND_STATUSES,
    ProviderBadRequest,
    ProviderError,
    RefundRequest,
    RefundStatus,
)
from kadosei.representation import serialize_refund
from kadosei.services.events import record_event
from kadosei.services.provider_choice import get_provider
from kadosei.services.session_state import lock_session

log = logging.getLogger("kadosei.payments")

# A pending refund is left to the provider's notification this long before kadosei asks.
QUIET_FOR = timedelta(minutes=1)
BATCH = 100


def lock_refund(refund_id: str) -> Refund:
    """The refund, freshly read under its session's row lock (held until the caller commits)."""
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id))
    lock_session(refund.session_id)
    query = select(Refund).where(Refund.id == refund_id)
    return db.session.scalar(query.execution_options(populate_existing=True))


def apply_refund_status(refund: Refund, reported: RefundStatus) -> str:
    """Apply what the provider says about ``refund`` (locked by the caller); the effect:
    ``applied`` (it ended), ``recorded`` (accepted, still pending), ``duplicate``,
    ``ignored_final`` (it had already ended), ``unrecognized``."""
    if reported.status not in REFUND_STATUSES:
        log.warning("refund %s: unrecognized provider status %r", refund.id, reported.status)
        return "unrecognized"
    effect = "duplicate"
    if refund.provider_refund_reference is None and reported.provider_refund_reference:
        refund.provider_refund_reference = reported.provider_refund_reference[:100]
        refund.updated_at = utcnow()
        _announce(refund, "refund.created")
        effect = "recorded"
    if refund.final:
        return effect if reported.status == refund.status else "ignored_final"
    if reported.status == "pending":
        return effect
    _end(refund, reported)
    return "applied"


def apply_refund_notification(
    provider_name: str, reported: RefundStatus
) -> tuple[Refund | None, str]:
    """A provider's notification about a refund: the refund it is about (if kadosei made it)
    and the effect it had."""
    refund = _find(provider_name, reported)
    if refund is None:
        return None, "unknown_refund"
    refund = lock_refund(refund.id)
    return refund, apply_refund_status(refund, reported)


def confirm_pending_refunds() -> int:
    """The sweep: ask the provider about every refund pending and quiet for ``QUIET_FOR``
    (one it never acknowledged is sent again under its own id); returns how many."""
    now = utcnow()
    ids = list(
        db.session.scalars(
            select(Refund.id)
            .where(Refund.status == "pending", Refund.updated_at < now - QUIET_FOR)
            .order_by(Refund.updated_at)
            .limit(BATCH)
        )
    )
    db.session.commit()
    for refund_id in ids:
        _confirm(refund_id, now)
    if ids:
        log.info("asked providers about %d pending refunds", len(ids))
    return len(ids)


def refund_request(refund: Refund, attempt: Attempt) -> RefundRequest:
    """What the provider is sent (and sent again, by the sweep, under the same id)."""
    return RefundRequest(
        refund_id=refund.id,
        provider_reference=attempt.payment_reference or attempt.provider_reference or "",
        amount=refund.amount,
        currency=refund.currency,
        reason=refund.reason,
    )


def _confirm(refund_id: str, now) -> None:
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id))
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == refund.attempt_id))
    provider = get_provider(refund.provider)
    unsent = refund.provider_refund_reference is None
    try:
        if provider is None:
            raise ProviderError(f"provider {refund.provider} is not configured")
        if unsent:
            reported = provider.refund(refund_request(refund, attempt))
        else:
            payment = attempt.payment_reference or attempt.provider_reference or ""
            reported = provider.get_refund(payment, refund.provider_refund_reference)
    except ProviderError as exc:
        db.session.rollback()
        if not (isinstance(exc, ProviderBadRequest) and unsent):
            log.warning("refund %s: %s did not answer (%s); asked again later", refund_id,
                        refund.provider, exc.code)  # fmt: skip
            _touch(refund_id, now)
            return
        # Sent again, and the provider refuses it outright: it never took this refund.
        reported = RefundStatus("", "failed", failure_code="refund_refused",
                                failure_message=str(exc)[:500])  # fmt: skip
    refund = lock_refund(refund_id)
    apply_refund_status(refund, reported)
    refund.updated_at = now  # checked: every other pending refund gets its turn first
    db.session.commit()


def _touch(refund_id: str, now) -> None:
    refund = lock_refund(refund_id)
    refund.updated_at = now
    db.session.commit()


def _end(refund: Refund, reported: RefundStatus) -> None:
    now = utcnow()
    refund.status = reported.status
    refund.completed_at = now
    refund.updated_at = now
    if reported.status == "succeeded":
        session = db.session.scalar(
            select(PaymentSession).where(PaymentSession.id == refund.session_id)
        )
        session.amount_refunded = (session.amount_refunded or 0) + refund.amount
    else:
        refund.failure_code = (reported.failure_code or "refund_failed")[:60]
        refund.failure_message = (reported.failure_message or "The refund failed")[:500]
    _announce(refund, f"refund.{reported.status}")


def _find(provider_name: str, reported: RefundStatus) -> Refund | None:
    matches = []
    if reported.provider_refund_reference:
        matches.append(Refund.provider_refund_reference == reported.provider_refund_reference)
    if reported.refund_id:
        matches.append(Refund.id == reported.refund_id)
    if not matches:
        return None
    query = select(Refund).where(Refund.provider == provider_name, or_(*matches))
    return db.session.scalars(query.order_by(Refund.pk)).first()


def _announce(refund: Refund, event_type: str) -> None:
    record_event(
        refund.application_id,
        refund.mode,
        event_type,
        serialize_refund(refund),
        session_id=refund.session_id,
    )
