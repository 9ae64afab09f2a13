"""Reading JSON request bodies (docs/api.md §2): 415 for other types, json_invalid, objects
only."""

from __future__ import annotations

from flask import request

from kadosei import bounded_json
from kadosei.errors import InvalidRequest, KadoseiError, invalid


class UnsupportedMediaType(KadoseiError):
    status = 415
    code = "unsupported_media_type"


def body_is_empty() -> bool:
    """Whether the request came without a body (whitespace only counts as none)."""
    return not request.get_data(cache=True).strip()


def json_body(*, allow_empty: bool = False) -> dict:
    """The request's JSON object; ``{}`` for an empty body when ``allow_empty``.

    Held to ``bounded_json``'s depth and size limits: whatever the body, the answer is this
    object or a 4xx in the envelope.
    """
    if body_is_empty():
        if allow_empty:
            return {}
        raise InvalidRequest("A JSON object body is required", code="json_invalid")
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Request bodies must be JSON (Content-Type: application/json)")
    try:
        data = bounded_json.load(request.get_data(cache=True))
    except bounded_json.RefusedJson as exc:
        raise InvalidRequest(f"The request body {exc}", code="json_invalid") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object", code="json_invalid")
    _reject_unstorable(data)
    return data


def _reject_unstorable(data: dict) -> None:
    """No NUL characters and no lone surrogates anywhere (``bounded_json.is_storable``): the
    error names the top-level field that holds one."""
    for name, value in data.items():
        if bounded_json.holds_unstorable(name) or bounded_json.holds_unstorable(value):
            raise invalid(name, f"{name} must not contain NUL characters or lone surrogates")
