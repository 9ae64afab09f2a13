"""(being built)"""

from kadosei.api.blueprint import bp  # noqa: F401
