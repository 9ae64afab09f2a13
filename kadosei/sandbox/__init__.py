"""The built-in sandbox PSPs (Lumen, Harbor, Orbit), run as if they were outside companies.

Their own tables (:mod:`.models`), API (:mod:`.api`), hosted pages (:mod:`.pages`), back
office (:mod:`.backoffice`, ``flask sandbox …``), delayed-card job and signed notifications
(:mod:`.jobs`). kadosei reaches them only through its adapters (``kadosei/providers/sandbox``)
and they reach kadosei only through ``POST /providers/<psp>/notifications``. Nothing here
imports kadosei's own code but the shared extensions and the job queue.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from kadosei.sandbox.backoffice import MAY_OPERATE
from kadosei.sandbox.backoffice import bp as backoffice_bp
from kadosei.sandbox.pages import bp as pages_bp


def init_sandbox(app: Flask, *, may_operate: Callable[[], bool]) -> None:
    """Serve the hosted pages and the back office; ``may_operate`` says whether the current
    user may change the knobs (the app's notion of a platform operator)."""
    app.extensions[MAY_OPERATE] = may_operate
    app.register_blueprint(pages_bp)
    app.register_blueprint(backoffice_bp)
