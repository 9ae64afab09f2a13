"""The merchant portal (server-rendered HTML)."""

from kadosei.portal import applications, auth  # noqa: F401  (routes register on import)
from kadosei.portal.blueprint import bp

__all__ = ["bp"]
