"""Public developer documentation: the API reference and the quickstart (docs/api.md)."""

from kadosei.docs.views import bp

__all__ = ["bp"]
