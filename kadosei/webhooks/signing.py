"""Standard Webhooks signing (docs/api.md §7), with the ``standardwebhooks`` library itself.

During a secret rotation's grace period a message carries one ``v1,…`` signature per valid
secret, space-separated, so a receiver holding either secret verifies it.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

from kadosei.models import Event, WebhookEndpoint
from kadosei.representation import serialize_webhook_message

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
USER_AGENT = "kadosei-webhooks/1.0 (+https://www.standardwebhooks.com/)"


def new_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, plus the previous one while its grace period lasts."""
    valid = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        valid.append(endpoint.previous_secret)
    return valid


def event_body(event: Event) -> str:
    """The JSON body of §7, compact."""
    return json.dumps(serialize_webhook_message(event), separators=(",", ":"))


def signed_headers(
    message_id: str, body: str, secrets_: Sequence[str], *, sent_at: datetime | None = None
) -> dict[str, str]:
    """The headers of one try: id, timestamp (unix seconds) and signatures, JSON, user agent."""
    timestamp = (sent_at or datetime.now(UTC)).replace(microsecond=0)
    signatures = " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets_
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.replace(tzinfo=UTC).timestamp())),
        "webhook-signature": signatures,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
