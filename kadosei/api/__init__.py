"""The JSON API (``/api/v1``): management (JWT) and payments (API key)."""

from kadosei.api import (  # noqa: F401  (routes register on import)
    auth,
    events,
    management,
    openapi,
    payments,
    refunds,
    team,
    webhook_endpoints,
)
from kadosei.api.blueprint import bp

__all__ = ["bp"]
