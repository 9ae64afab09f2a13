"""The JSON API (``/api/v1``): management (JWT) and payments (API key)."""

from kadosei.api import auth, management  # noqa: F401  (routes register on import)
from kadosei.api.blueprint import bp

__all__ = ["bp"]
