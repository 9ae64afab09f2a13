"""The sandbox PSPs' background work: signed notifications to kadosei and the delayed card's
completion. Jobs take references and are idempotent; a sweep redoes what the queue lost."""

from __future__ import annotations

import logging
from datetime import timedelta

from kadosei.sandbox import outbox, payments, refunds
from kadosei.sandbox.delivery import post_notification
from kadosei.sandbox.models import SandboxPayment, SandboxRefund, utcnow
from kadosei.sandbox.schemes import build_notification, build_refund_notification

log = logging.getLogger("kadosei.sandbox")

# The queued job normally sends within a second; the sweep waits this long before it steps in.
NOTIFICATION_GRACE = timedelta(seconds=10)
# Like a real PSP, give up on a notification kadosei keeps refusing after a few days.
NOTIFICATION_GIVE_UP = timedelta(days=3)


def send_notification(reference: str) -> bool:
    """Send the payment's due notification, signed, to ``POST /providers/<provider>/
    notifications``; ``False`` if none was due. Raises if kadosei did not accept it."""
    return _send_due(SandboxPayment, payments.get_payment, build_notification, reference)


def send_refund_notification(reference: str) -> bool:
    """Send the refund's due notification (as ``send_notification`` does for payments)."""
    return _send_due(SandboxRefund, refunds.get_refund, build_refund_notification, reference)


def _send_due(model: outbox.Notifying, load, build, reference: str) -> bool:
    """Claim the row's due notification in the outbox, send it; on failure it is due again."""
    claimed_at = outbox.claim(model, reference)
    if claimed_at is None:
        return False
    try:
        item = load(reference)
        body, headers = build(item)
        post_notification(item.provider, body, headers)
    except Exception:
        # A real PSP retries until kadosei accepts: due again for the next job or sweep.
        outbox.release(model, reference, claimed_at)
        raise
    return True


def settle_refund(reference: str) -> bool:
    """The bank answered about a refund: ``pending → succeeded | failed`` (once)."""
    return refunds.settle_refund(reference)


def complete_processing_payment(reference: str) -> bool:
    """The delayed test card's bank confirmed: ``processing → succeeded`` (once)."""
    return payments.complete_processing(reference)


def sweep_sandbox_payments() -> None:
    """Complete overdue delayed cards, settle overdue refunds and send notifications the queue
    never delivered."""
    now = utcnow()
    for reference in payments.overdue_processing(now):
        complete_processing_payment(reference)
    for reference in outbox.due(
        SandboxPayment, due_before=now - NOTIFICATION_GRACE, due_after=now - NOTIFICATION_GIVE_UP
    ):
        try:
            send_notification(reference)
        except Exception:
            log.exception("sandbox notification for %s failed; retried next sweep", reference)
    _sweep_refunds(now)


def _sweep_refunds(now) -> None:
    """Settle overdue refunds and send the refund notifications the queue never delivered."""
    for reference in refunds.overdue_refunds(now):
        settle_refund(reference)
    for reference in outbox.due(
        SandboxRefund, due_before=now - NOTIFICATION_GRACE, due_after=now - NOTIFICATION_GIVE_UP
    ):
        try:
            send_refund_notification(reference)
        except Exception:
            log.exception("sandbox refund notification for %s failed; retried", reference)
