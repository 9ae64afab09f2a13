"""The portal blueprint every portal module registers its routes on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from kadosei.currencies import format_amount
from kadosei.permissions import ensure_permitted, is_permitted

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


@bp.before_request
def enforce_role() -> None:
    """Every portal page and form, before its view: the signed-in user's role must allow it
    (``kadosei.permissions``); a friendly 403 page otherwise. Signed-out visitors pass on to
    the view, whose ``login_required`` sends them to log in."""
    if current_user.is_authenticated:
        ensure_permitted(current_user, request.endpoint, request.method)


@bp.app_template_global()
def may(endpoint: str, method: str = "POST") -> bool:
    """Whether the signed-in user's role allows ``method`` on ``endpoint`` (templates hide
    what it does not)."""
    return bool(current_user.is_authenticated) and is_permitted(current_user, endpoint, method)


@bp.app_template_global()
def may_post_to(url: str) -> bool:
    """Whether a form posting to ``url`` (a portal page) is one the user's role allows."""
    if not current_user.is_authenticated:
        return True
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(urlsplit(url).path, method="POST")
    except HTTPException:
        return True
    return not endpoint.startswith("portal.") or is_permitted(current_user, endpoint, "POST")


@bp.app_context_processor
def portal_context() -> dict:
    extensions = current_app.extensions
    return {
        # Pages the user's role cannot open, or that are not for this user, are not offered.
        "portal_nav_extra": [
            (endpoint, label)
            for endpoint, label, shown_to in extensions.get(_NAV, [])
            if (not current_user.is_authenticated or may(endpoint, "GET"))
            and (shown_to is None or (current_user.is_authenticated and shown_to(current_user)))
        ],
        "application_links": extensions.get(_APPLICATION_LINKS, []),
    }


@bp.app_template_filter("money")
def money_filter(amount: int, currency: str) -> str:
    return format_amount(amount, currency)
