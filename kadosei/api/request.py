"""Reading JSON request bodies per §2: 415 for other types, json_invalid, objects only."""

from __future__ import annotations

import json

from flask import request

from kadosei.errors import InvalidRequest, KadoseiError


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
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The request body is not valid JSON", code="json_invalid") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object", code="json_invalid")
    return data
