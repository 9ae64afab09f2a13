"""The portal blueprint every portal module registers its routes on."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app

from kadosei.services.currencies import format_amount

bp = Blueprint("portal", __name__)

_NAV = "kadosei_portal_nav"
_APPLICATION_LINKS = "kadosei_portal_application_links"


def add_nav_item(app: Flask, endpoint: str, label: str) -> None:
    """Show a top-level page in the portal's navigation, after those added before it."""
    app.extensions.setdefault(_NAV, []).append((endpoint, label))


def add_application_link(app: Flask, endpoint: str, label: str) -> None:
    """Link a page taking ``app_id`` from every application's page."""
    app.extensions.setdefault(_APPLICATION_LINKS, []).append((endpoint, label))


@bp.app_context_processor
def portal_context() -> dict:
    extensions = current_app.extensions
    return {
        "portal_nav_extra": extensions.get(_NAV, []),
        "application_links": extensions.get(_APPLICATION_LINKS, []),
    }


@bp.app_template_filter("money")
def money_filter(amount: int, currency: str) -> str:
    return format_amount(amount, currency)
