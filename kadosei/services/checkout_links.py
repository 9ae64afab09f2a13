"""The public URLs of the customer's way: the checkout page and the provider return page."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from flask import current_app


def public_base_url() -> str:
    """``KADOSEI_PUBLIC_URL`` (always set, see config): never the host a request came to,
    which a forged ``Host`` or ``X-Forwarded-Host`` would choose."""
    return current_app.config["KADOSEI_PUBLIC_URL"].rstrip("/")


def checkout_url(session_id: str) -> str:
    return f"{public_base_url()}/checkout/{quote(session_id)}"


def notification_url(provider_name: str) -> str:
    """Where a provider sends its notifications (docs/api.md §10); Mollie takes it per payment,
    the others have it registered in their dashboards."""
    return f"{public_base_url()}/providers/{quote(provider_name)}/notifications"


def return_url(session_id: str, attempt_id: str) -> str:
    """Where a provider sends the customer back after its hosted page."""
    return f"{checkout_url(session_id)}/return?attempt={quote(attempt_id)}"


def with_session_id(url: str, session_id: str) -> str:
    """``url`` with ``session_id=ps_…`` appended to its query. The merchant's own parameters
    stay byte for byte as written (a merchant may sign its return URLs); only an earlier
    ``session_id`` is dropped."""
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and p.split("=", 1)[0] != "session_id"]
    kept.append(f"session_id={quote(session_id, safe='')}")
    return urlunsplit(parts._replace(query="&".join(kept)))
