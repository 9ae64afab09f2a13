"""The sandbox's own database sessions: short transactions of its own on the shared engine,
never kadosei's ``db.session``, so a sandbox commit never carries (or ends) kadosei's work
and kadosei's rollback never undoes the PSP's records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from kadosei.extensions import db


@contextmanager
def transaction() -> Iterator[Session]:
    """One transaction, committed when the block ends (rolled back if it raises). Loaded rows
    stay readable after it ends."""
    with Session(db.engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def reading() -> Iterator[Session]:
    """A read-only look: no write, nothing to commit."""
    with Session(db.engine, expire_on_commit=False) as session:
        yield session
