"""Fuzzing the idempotency body comparison (issue 9): the same JSON value, however it is
written (key order, spacing, escapes), is the same body; any other value is another body;
and no body the API accepts can break the comparison."""

from __future__ import annotations

import json
import random
import uuid

from fuzz_support import PLAIN_TEXT, fuzz, json_values
from hypothesis import assume, given
from hypothesis import strategies as st

from kadosei import bounded_json
from kadosei.api.request import json_body
from kadosei.models import PaymentSession
from kadosei.services.idempotency import request_fingerprint

VALUES = st.dictionaries(PLAIN_TEXT, json_values(keys=PLAIN_TEXT), max_size=5)


def _written_otherwise(value: object, rng: random.Random) -> object:
    """The same JSON value with every object's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _written_otherwise(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_written_otherwise(item, rng) for item in value]
    return value


def _fingerprint_of(app, raw: bytes) -> str:
    with app.test_request_context("/", method="POST", data=raw, content_type="application/json"):
        return request_fingerprint(json_body())


@fuzz(60)
@given(
    value=VALUES, seed=st.integers(), ascii_only=st.booleans(), indent=st.sampled_from([None, 0, 2])
)
def test_the_same_value_however_written_has_one_fingerprint(app, value, seed, ascii_only, indent):
    assume(not bounded_json.holds_unstorable(value))
    first = json.dumps(value).encode()
    other = json.dumps(
        _written_otherwise(value, random.Random(seed)), ensure_ascii=ascii_only, indent=indent
    ).encode()

    assert _fingerprint_of(app, first) == _fingerprint_of(app, other)


@fuzz(50)
@given(value=VALUES, other=VALUES)
def test_another_value_has_another_fingerprint(value, other):
    assume(json.dumps(value, sort_keys=True) != json.dumps(other, sort_keys=True))

    assert request_fingerprint(value) != request_fingerprint(other)


SESSION = {
    "amount": 1999,
    "currency": "EUR",
    "payment_method": "card",
    "success_url": "https://shop.example/thanks",
    "cancel_url": "https://shop.example/cart",
}


@fuzz(10)
@given(
    metadata=st.dictionaries(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=10),
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
        max_size=4,
    ),
    seed=st.integers(),
)
def test_a_replay_written_otherwise_gets_the_first_response_and_a_change_is_409(
    client, factories, metadata, seed
):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    headers = {**factories.key_headers(secret), "Idempotency-Key": uuid.uuid4().hex}
    body = {**SESSION, "metadata": metadata}
    reordered = json.dumps(_written_otherwise(body, random.Random(seed)), indent=1)

    def post(raw: str):
        return client.post(
            "/api/v1/payment_sessions", data=raw, content_type="application/json", headers=headers
        )

    first = post(json.dumps(body))
    replay = post(reordered)
    changed = post(json.dumps({**body, "amount": 2000}))

    assert first.status_code == replay.status_code == 201
    assert replay.json["id"] == first.json["id"]
    assert changed.status_code == 409
    assert changed.json["error"]["code"] == "idempotency_key_reused"
    assert PaymentSession.query.filter_by(id=first.json["id"]).count() == 1
