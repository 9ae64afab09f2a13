"""Provider notifications: ``POST /providers/{provider}/notifications`` (docs/api.md §5 step 4).

CSRF-exempt. Once verified and recorded, acknowledged as the provider expects (``200
{"received": true}`` by default; Adyen wants ``[accepted]``); ``400`` in the JSON envelope when
the notification does not verify (nothing changes).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from kadosei.services.notifications import handle_provider_notification

notifications_bp = Blueprint("notifications", __name__, url_prefix="/providers")


@notifications_bp.post("/<provider>/notifications")
def receive_notification(provider: str):
    status, body, mimetype = handle_provider_notification(
        provider, request.get_data(), dict(request.headers)
    )
    return Response(body, status=status, mimetype=mimetype)
