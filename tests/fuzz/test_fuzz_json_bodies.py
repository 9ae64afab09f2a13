"""Fuzzing the JSON body check (issue 9, defect 1): whatever bytes arrive, ``json_body`` gives
an object that can be stored, fingerprinted and echoed, or a 4xx in the envelope; never
anything else, at any depth."""

from __future__ import annotations

import json

import pytest
from fuzz_support import ANY_TEXT, PLAIN_TEXT, deep_json, fuzz, json_values, mangled
from hypothesis import given
from hypothesis import strategies as st

from kadosei import bounded_json
from kadosei.api.request import json_body
from kadosei.errors import KadoseiError
from kadosei.services.idempotency import request_fingerprint

OBJECTS = st.dictionaries(PLAIN_TEXT | ANY_TEXT, json_values(), max_size=4)
TEXTS = st.one_of(
    OBJECTS.map(json.dumps),
    OBJECTS.map(lambda value: json.dumps(value, ensure_ascii=False)),
    json_values().map(json.dumps),
    deep_json(),
    deep_json().map(lambda text: '{"v": ' + text + "}"),
    OBJECTS.map(json.dumps).flatmap(mangled),
    deep_json().flatmap(mangled),
)
RAW = st.one_of(
    TEXTS.map(lambda text: text.encode("utf-8", "surrogatepass")),
    TEXTS.map(lambda text: text.encode("utf-16", "surrogatepass")),
    st.binary(max_size=200),
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", None]
)


def _read(app, raw: bytes, content_type: str | None = "application/json"):
    """``json_body()`` on a request carrying ``raw``: the object, or the error it raised."""
    with app.test_request_context(
        "/api/v1/fuzz", method="POST", data=raw, content_type=content_type
    ):
        try:
            return json_body()
        except KadoseiError as exc:
            return exc


def _depth(value: object) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return deepest


@fuzz(150)
@given(raw=RAW, content_type=CONTENT_TYPES)
def test_any_body_is_an_object_or_a_4xx_in_the_envelope(app, raw, content_type):
    result = _read(app, raw, content_type)

    if isinstance(result, KadoseiError):
        assert 400 <= result.status < 500
        assert result.code in {"json_invalid", "parameter_invalid", "unsupported_media_type"}
        json.dumps(result.to_dict())
        return
    assert isinstance(result, dict)
    assert _depth(result) <= bounded_json.MAX_DEPTH
    json.dumps(result, ensure_ascii=False).encode("utf-8")
    assert len(request_fingerprint(result)) == 64


@fuzz(60)
@given(value=OBJECTS)
def test_a_storable_object_within_the_limits_reads_back_as_sent(app, value):
    result = _read(app, json.dumps(value).encode())

    if _depth(value) > bounded_json.MAX_DEPTH:
        assert result.code == "json_invalid"
    elif bounded_json.holds_unstorable(value):
        assert result.code == "parameter_invalid"
        assert result.param in value
    else:
        assert result == value


@fuzz(60)
@given(text=deep_json())
def test_nesting_is_refused_exactly_past_the_depth_limit(app, text):
    wrapped = '{"v": ' + text + "}"
    depth = _depth(json.loads(wrapped)) if wrapped.count("[") + wrapped.count("{") < 900 else 999

    result = _read(app, wrapped.encode())

    if depth <= bounded_json.MAX_DEPTH:
        assert isinstance(result, dict)
    else:
        assert result.code == "json_invalid"


@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh", "/auth/logout"])
@fuzz(25)
@given(raw=RAW, content_type=CONTENT_TYPES)
def test_the_auth_endpoints_answer_any_body_with_a_4xx_in_the_envelope(
    client, path, raw, content_type
):
    response = client.post(f"/api/v1{path}", data=raw, content_type=content_type)

    assert 400 <= response.status_code < 500
    assert set(response.json["error"]) >= {"type", "code", "message"}
