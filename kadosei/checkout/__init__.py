"""The customer-facing checkout: redirect to the provider and back (docs/api.md §5)."""

from kadosei.checkout import views  # noqa: F401  (routes register on import)
from kadosei.checkout.blueprint import bp

__all__ = ["bp"]
