"""``max_attempts`` on session creation (docs/api.md §4): an integer 1..10, default 3,
declared once in kadosei.schemas.limits; anything else is a 400 in the error envelope."""

from __future__ import annotations

import pytest

from kadosei.models import PaymentSession
from kadosei.schemas import limits


def test_max_attempts_defaults_to_3_and_can_be_chosen(merchant):
    default = merchant.create_session()
    chosen = merchant.create_session(max_attempts=limits.MAX_ATTEMPTS_MAX)
    one = merchant.create_session(max_attempts=limits.MAX_ATTEMPTS_MIN)

    stored = {
        body["id"]: PaymentSession.query.filter_by(id=body["id"]).one().max_attempts
        for body in (default, chosen, one)
    }
    assert stored == {default["id"]: 3, chosen["id"]: 10, one["id"]: 1}
    assert default["attempts_failed"] == 0 and default["last_failure"] is None


@pytest.mark.parametrize("value", [0, 11, -1, "3", True, 2.5, [3], {"n": 3}])
def test_max_attempts_is_an_integer_from_1_to_10(merchant, value):
    response = merchant.create(max_attempts=value)

    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error["param"]) == ("parameter_invalid", "max_attempts")
    assert error["message"]
    assert PaymentSession.query.count() == 0


def test_null_max_attempts_means_the_default(merchant):
    body = merchant.create_session(max_attempts=None)

    assert PaymentSession.query.filter_by(id=body["id"]).one().max_attempts == 3


def test_the_openapi_document_declares_the_limit_once(client):
    document = client.get("/api/v1/openapi.json").json
    create = document["components"]["schemas"]["PaymentSessionCreate"]["properties"]
    field = create["max_attempts"]
    schema = next((s for s in field.get("anyOf", [field]) if s.get("type") == "integer"), field)
    assert (schema["minimum"], schema["maximum"]) == (1, 10)
    assert field.get("default", schema.get("default")) == 3
    session = document["components"]["schemas"]["PaymentSession"]
    assert {"attempts_failed", "last_failure"} <= set(session["required"])
