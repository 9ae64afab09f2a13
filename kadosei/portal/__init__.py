"""The merchant portal (server-rendered HTML)."""

from kadosei.portal import (  # noqa: F401  (routes register on import)
    applications,
    auth,
    dashboard,
    payments,
    providers,
    routing,
    settings,
    team,
    webhooks,
)
from kadosei.portal.blueprint import bp

__all__ = ["bp"]
