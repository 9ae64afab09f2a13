"""Explicit serialisers: the API contract's shapes."""

from __future__ import annotations

from kadosei.models import ApiKey, Application, Merchant
from kadosei.models.base import isoformat
from kadosei.services.pagination import Page
from kadosei.services.representation import serialize_event, serialize_session

__all__ = [
    "serialize_api_key",
    "serialize_application",
    "serialize_event",
    "serialize_list",
    "serialize_merchant",
    "serialize_session",
]


def serialize_list(page: Page, serializer) -> dict:
    return {
        "object": "list",
        "data": [serializer(item) for item in page.items],
        "has_more": page.has_more,
    }


def serialize_merchant(merchant: Merchant) -> dict:
    return {
        "id": merchant.id,
        "object": "merchant",
        "name": merchant.name,
        "created_at": isoformat(merchant.created_at),
    }


def serialize_application(application: Application) -> dict:
    return {
        "id": application.id,
        "object": "application",
        "name": application.name,
        "description": application.description,
        "archived": application.archived,
        "created_at": isoformat(application.created_at),
        "archived_at": isoformat(application.archived_at),
    }


def serialize_api_key(key: ApiKey, secret: str | None = None) -> dict:
    body = {
        "id": key.id,
        "object": "api_key",
        "application_id": key.application_id,
        "mode": key.mode,
        "name": key.name,
        "hint": key.hint,
        "created_at": isoformat(key.created_at),
        "last_used_at": isoformat(key.last_used_at),
        "revoked": key.revoked,
        "revoked_at": isoformat(key.revoked_at),
    }
    if secret is not None:
        body["key"] = secret
    return body
