"""flask-login glue: load the signed-in user by public id."""

from __future__ import annotations

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import User


def load_user(user_id: str) -> User | None:
    return db.session.scalar(select(User).where(User.id == user_id))
