"""The portal blueprint every portal module registers its routes on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app
from flask_login import current_user

from kadosei.currencies import format_amount

bp = Blueprint("portal", __name__)

_NAV = "kadosei_portal_nav"
_APPLICATION_LINKS = "kadosei_portal_application_links"


def add_nav_item(
    app: Flask, endpoint: str, label: str, shown_to: Callable[[Any], bool] | None = None
) -> None:
    """Show a top-level page in the portal's navigation, after those added before it;
    ``shown_to(user)`` limits it to the users it is for (e.g. operators)."""
    app.extensions.setdefault(_NAV, []).append((endpoint, label, shown_to))


def add_application_link(app: Flask, endpoint: str, label: str) -> None:
    """Link a page taking ``app_id`` from every application's page."""
    app.extensions.setdefault(_APPLICATION_LINKS, []).append((endpoint, label))


@bp.app_context_processor
def portal_context() -> dict:
    extensions = current_app.extensions
    return {
        "portal_nav_extra": [
            (endpoint, label)
            for endpoint, label, shown_to in extensions.get(_NAV, [])
            if shown_to is None or (current_user.is_authenticated and shown_to(current_user))
        ],
        "application_links": extensions.get(_APPLICATION_LINKS, []),
    }


@bp.app_template_filter("money")
def money_filter(amount: int, currency: str) -> str:
    return format_amount(amount, currency)
