"""Periodic sweeps run by every worker: idempotent, so several workers may run them at once."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("kadosei.jobs")

# Feature modules register their sweeps here (e.g. expire sessions, re-enqueue due deliveries).
SWEEPS: list[Callable[[], object]] = []


def register_sweep(func: Callable[[], object]) -> Callable[[], object]:
    if func not in SWEEPS:
        SWEEPS.append(func)
    return func


def run_sweeps() -> None:
    """Run every registered sweep once; one failing never stops the others."""
    from kadosei.extensions import db

    for sweep in list(SWEEPS):
        try:
            sweep()
        except Exception:
            log.exception("sweep %s failed", getattr(sweep, "__name__", sweep))
            db.session.rollback()
        finally:
            db.session.remove()
