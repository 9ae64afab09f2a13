"""Sending a signed notification to kadosei the way a PSP does: ``POST
/providers/<psp>/notifications``. The request goes through the WSGI app in-process (no socket,
no proxy), in an app context of its own, so kadosei handles it exactly as a request from the
network: its own database session, its own commit, its answer in the status code."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import current_app
from werkzeug.test import Client


class NotificationRefused(Exception):
    """kadosei did not answer 2xx: the notification stays due and is sent again later."""


def post_notification(provider: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Deliver one notification; ``NotificationRefused`` unless kadosei accepts it."""
    app = current_app._get_current_object()
    with app.app_context():
        response = Client(app).post(
            f"/providers/{provider}/notifications",
            data=body,
            headers={"Content-Type": "application/json", **headers},
            base_url=_receiver_base_url(),
        )
        status = response.status_code
        response.close()
    if not 200 <= status < 300:
        raise NotificationRefused(f"kadosei answered {status} to {provider}'s notification")


def _receiver_base_url() -> str:
    """kadosei's public origin (HTTPS), as configured for the notification URL."""
    public = urlsplit(current_app.config["KADOSEI_PUBLIC_URL"])
    return f"https://{public.netloc or 'localhost'}"
