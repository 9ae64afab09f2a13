"""The portal blueprint every portal module registers its routes on."""

from __future__ import annotations

from flask import Blueprint

from kadosei.services.currencies import format_amount

bp = Blueprint("portal", __name__)

# Feature modules add their top-level pages here: (endpoint, label).
NAV_ITEMS: list[tuple[str, str]] = []
# Links shown on an application's page: (endpoint taking app_id, label).
APPLICATION_LINKS: list[tuple[str, str]] = []


@bp.app_context_processor
def portal_context() -> dict:
    return {"portal_nav_extra": NAV_ITEMS, "application_links": APPLICATION_LINKS}


@bp.app_template_filter("money")
def money_filter(amount: int, currency: str) -> str:
    return format_amount(amount, currency)
