"""The sandbox PSPs' background work: signed notifications to kadosei and the delayed card's
completion. Jobs take references and are idempotent; a sweep redoes what the queue lost."""

from __future__ import annotations

import logging
from datetime import timedelta

from kadosei.models.base import utcnow
from kadosei.providers.sandbox import psp

log = logging.getLogger("kadosei.sandbox")

# The queued job normally sends within a second; the sweep waits this long before it steps in.
NOTIFICATION_GRACE = timedelta(seconds=10)
# Like a real PSP, give up on a notification kadosei keeps refusing after a few days.
NOTIFICATION_GIVE_UP = timedelta(days=3)


def send_notification(reference: str) -> bool:
    """Send the payment's due notification, signed, through kadosei's notification path (the
    one ``POST /providers/<provider>/notifications`` uses); ``False`` if none was due."""
    from kadosei.providers.registry import get_sandbox_provider
    from kadosei.services.notifications import handle_provider_notification

    claimed_at = psp.claim_notification(reference)
    if claimed_at is None:
        return False
    try:
        payment = psp.get_payment(reference)
        provider = get_sandbox_provider(payment.provider)
        body, headers = provider.build_notification(payment)
        handle_provider_notification(provider.name, body, headers)
    except Exception:
        # A real PSP retries until kadosei accepts: due again for the next job or sweep.
        psp.release_notification(reference, claimed_at)
        raise
    return True


def complete_processing_payment(reference: str) -> bool:
    """The delayed test card's bank confirmed: ``processing → succeeded`` (once)."""
    return psp.complete_processing(reference)


def sweep_sandbox_payments() -> None:
    """Complete overdue delayed cards and send notifications the queue never delivered."""
    now = utcnow()
    for reference in psp.overdue_processing(now):
        complete_processing_payment(reference)
    for reference in psp.due_notifications(
        due_before=now - NOTIFICATION_GRACE, due_after=now - NOTIFICATION_GIVE_UP
    ):
        try:
            send_notification(reference)
        except Exception:
            log.exception("sandbox notification for %s failed; retried next sweep", reference)
