"""Provider notifications: ``POST /providers/{provider}/notifications`` (docs/api.md §5 step 4).

CSRF-exempt and answered in the JSON envelope: ``200 {"received": true}`` once verified and
recorded, ``400`` when the notification does not verify (nothing changes).
"""

from __future__ import annotations

from flask import Blueprint, request

from kadosei.services.notifications import handle_provider_notification

notifications_bp = Blueprint("notifications", __name__, url_prefix="/providers")


@notifications_bp.post("/<provider>/notifications")
def receive_notification(provider: str):
    handle_provider_notification(provider, request.get_data(), dict(request.headers))
    return {"received": True}
