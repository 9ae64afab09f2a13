"""Helpers for the team tests: members made through invitations, as a merchant would."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

from kadosei.schemas.requests import InvitationAccept, InvitationCreate
from kadosei.services import team
from tests.factories import PASSWORD

_counter = itertools.count(1)


def add_member(merchant_id: str, inviter_id: str, role: str, email: str | None = None):
    """A user of ``merchant_id`` with ``role``, who joined by accepting an invitation."""
    address = email or f"{role}{next(_counter)}@team.example"
    created = team.invite(
        merchant_id, InvitationCreate(email=address, role=role), user_id=inviter_id
    )
    token = accept_path(created.accept_url).rsplit("/", 1)[1]
    return team.accept_invitation(token, InvitationAccept(name=role.title(), password=PASSWORD))


def accept_path(accept_url: str) -> str:
    parts = urlsplit(accept_url)
    assert parts.scheme == "https" and parts.netloc == "kadosei.test", accept_url
    return parts.path


def error_of(response) -> dict:
    body = response.get_json()
    assert body is not None and set(body) == {"error"}, response.get_data(as_text=True)[:300]
    return body["error"]
