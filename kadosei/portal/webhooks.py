"""(being built)"""

from kadosei.portal.blueprint import bp  # noqa: F401
