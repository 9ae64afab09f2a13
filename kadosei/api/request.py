"""Reading JSON request bodies (docs/api.md §2): 415 for other types, json_invalid, objects
only."""

from __future__ import annotations

import json

from flask import request

from kadosei.errors import InvalidRequest, KadoseiError, invalid


class UnsupportedMediaType(KadoseiError):
    status = 415
    code = "unsupported_media_type"


def json_body(*, allow_empty: bool = False) -> dict:
    """The request's JSON object; ``{}`` for an empty body when ``allow_empty``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return {}
        raise InvalidRequest("A JSON object body is required", code="json_invalid")
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Request bodies must be JSON (Content-Type: application/json)")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("The request body is not valid JSON", code="json_invalid") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object", code="json_invalid")
    _reject_unstorable(data)
    return data


def _reject_constant(name: str):
    """``NaN`` and ``Infinity`` are not JSON (RFC 8259), whatever Python's parser allows."""
    raise ValueError(f"{name} is not valid JSON")


def _reject_unstorable(data: dict) -> None:
    """No NUL characters and no lone surrogates (``"\\ud800"`` is valid JSON but not text)
    anywhere: no database can store them, UTF-8 cannot encode them, and nobody means them."""
    for name, value in data.items():
        if _holds_unstorable(name) or _holds_unstorable(value):
            raise invalid(name, f"{name} must not contain NUL characters or lone surrogates")


def _holds_unstorable(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value or not _encodable(value)
    if isinstance(value, dict):
        return any(_holds_unstorable(k) or _holds_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_unstorable(item) for item in value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
