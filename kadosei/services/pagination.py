"""Cursor pagination, newest first in exact creation order (docs/api.md §2 Lists). A
request's ``limit`` and ``starting_after`` are parsed by ``kadosei.schemas.requests.PageQuery``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select

from kadosei.errors import NotFound
from kadosei.extensions import db


@dataclass(frozen=True)
class Page:
    items: list
    has_more: bool


def paginate(query: Select, model, *, limit: int, starting_after: str | None) -> Page:
    """Page ``query`` (already scoped to the caller) by the model's sequence, newest first.

    ``starting_after`` must name an object the same scoped query can see.
    """
    if starting_after is not None:
        scoped_ids = query.with_only_columns(model.pk).where(model.id == starting_after)
        cursor = db.session.scalar(scoped_ids)
        if cursor is None:
            raise NotFound(f"No such object '{starting_after}'", param="starting_after")
        query = query.where(model.pk < cursor)
    rows = list(db.session.scalars(query.order_by(model.pk.desc()).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)


def scoped(model, **filters) -> Select:
    """``select(model)`` with equality filters; ``None`` values are skipped."""
    query = select(model)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, name) == value)
    return query
