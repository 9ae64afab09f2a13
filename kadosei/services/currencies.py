"""Kept for the modules that still import currencies from here; see ``kadosei.currencies``."""

from kadosei.currencies import all_currencies, format_amount, is_currency, minor_unit

__all__ = ["all_currencies", "format_amount", "is_currency", "minor_unit"]
