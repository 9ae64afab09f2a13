"""Periodic sweeps run by every worker: idempotent, so several workers may run them at once.
``create_app`` registers each one (``kadosei._register_sweeps``); nothing registers on import."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app

from kadosei.extensions import db

log = logging.getLogger("kadosei.jobs")

Sweep = Callable[[], object]
_EXTENSION = "kadosei_sweeps"


def register_sweep(app: Flask, sweep: Sweep) -> None:
    """Have this app's workers run ``sweep`` at start and every sweep interval."""
    sweeps = app.extensions.setdefault(_EXTENSION, [])
    if sweep not in sweeps:
        sweeps.append(sweep)


def registered_sweeps(app: Flask) -> list[Sweep]:
    """The app's sweeps, in the order they run."""
    return list(app.extensions.get(_EXTENSION, []))


def run_sweeps() -> None:
    """Run every sweep of the current app once; one failing never stops the others."""
    for sweep in registered_sweeps(current_app):
        try:
            sweep()
        except Exception:
            log.exception("sweep %s failed", getattr(sweep, "__name__", sweep))
            db.session.rollback()
        finally:
            db.session.remove()
