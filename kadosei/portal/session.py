"""flask-login glue: load the signed-in user by public id and session nonce."""

from __future__ import annotations

import hmac

from sqlalchemy import select

from kadosei.extensions import db
from kadosei.models import User


def load_user(session_id: str) -> User | None:
    """The user of a portal session, unless they logged out since (the nonce changed)."""
    user_id, _, nonce = session_id.partition(".")
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None or not nonce or not hmac.compare_digest(user.session_nonce, nonce):
        return None
    return user
