"""Schema fuzzing: schemathesis generates requests from ``/api/v1/openapi.json`` for every
operation and checks each answer — no 5xx, a documented status, the documented content type,
and a body that matches the documented schema (so every error is the envelope).

Through the WSGI app, not a server thread: the same app and middleware a server would run
(HTTPS is set by the client's ``https://`` base URL, as a TLS-terminating proxy would), with
no sockets, ports or timing in the way — deterministic and fast enough for every CI run.
Both security schemes are exercised: a seeded merchant's JWT for management calls and its
test-mode API key for payment calls; ids in paths are the seeded objects', so the handlers
behind the 404 are reached. Bounded: a few derandomized examples per operation.
"""

from __future__ import annotations

import copy
import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from kadosei.api.openapi import openapi_document
from kadosei.schemas.requests import (
    InvitationAccept,
    InvitationCreate,
    PaymentSessionCreate,
    WebhookEndpointCreate,
)
from kadosei.services import payments, team, webhook_endpoints
from kadosei.services.audit import Actor

BASE_URL = "https://localhost"
MAX_EXAMPLES = 12
_FRESH_KEYS = itertools.count(1)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
# Valid by the document, refused by a rule no schema states (no enabled provider for that
# method and currency, a session no longer open): 422, documented.
ACCEPTED = ["2XX", "401", "403", "404", "409", "422", "429"]
# Rules no JSON Schema can state, so a schema-valid request may still get a 400 naming one of
# these: a URL must be https and reach a public host; an integer is written without a
# fraction (JSON Schema counts 436.0 as an integer); an e-mail address follows RFC 5321, which
# is stricter than `format: email`; an application has at most 16 endpoints per mode.
BEYOND_THE_SCHEMA = {
    "url",
    "success_url",
    "cancel_url",
    "amount",
    "expires_in",
    "customer_email",
    "email",
    "support_email",
    "mode",
}


@pytest.fixture
def seeded(factories) -> dict:
    """A merchant with an application, keys, a webhook endpoint, a session and an event."""
    merchant, user = factories.make_merchant()
    application = factories.make_application(merchant)
    _, secret = factories.make_api_key(application, "test")
    spare_key, _ = factories.make_api_key(application, "test")
    endpoint = webhook_endpoints.create_endpoint(
        application, WebhookEndpointCreate(url="https://hooks.shop.example/k", mode="test")
    )
    fields = PaymentSessionCreate.model_validate(
        {
            "amount": 1999,
            "currency": "EUR",
            "payment_method": "card",
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/no",
        },
        context={"mode": "test"},
    )
    session_id = payments.create_payment_session(application, "test", fields).body["id"]
    payments.cancel_payment_session(
        application, "test", session_id, actor=Actor.api_key(spare_key.id, application.id, None)
    )
    event = webhook_endpoints.send_test_event(endpoint)
    member = _team_member(merchant.id, user.id)
    invitation = team.invite(
        merchant.id, InvitationCreate(email="pending@team.example", role="viewer"), user_id=user.id
    ).invitation
    return {
        "managementToken": factories.jwt_headers(user),
        "apiKey": factories.key_headers(secret),
        "path": {
            "app_id": application.id,
            "key_id": spare_key.id,
            "we_id": endpoint.id,
            "session_id": session_id,
            "event_id": event.id,
            "provider": "harbor",
            "usr_id": member.id,
            "inv_id": invitation.id,
        },
    }


def _team_member(merchant_id: str, owner_id: str):
    created = team.invite(
        merchant_id, InvitationCreate(email="dev@team.example", role="developer"), user_id=owner_id
    )
    token = created.accept_url.rsplit("/", 1)[1]
    return team.accept_invitation(token, InvitationAccept(name="Dev", password="a long password"))


def _api_schema():
    """Loaded from the generator itself (the route serves the same cached document) at
    import, as ``@schema.parametrize()`` needs; the app is the test's own fixture, handed to
    each call (``schemathesis.pytest.from_fixture`` does not run under pytest 9)."""
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(openapi_document()))
    loaded.config.update(base_url=BASE_URL)
    loaded.config.checks.positive_data_acceptance.expected_statuses = ACCEPTED
    loaded.config.generation.update(
        modes=list(GenerationMode),
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        # No NUL in any string: a rule of the whole API (the document's description says so),
        # kept out of every field's schema.
        allow_x00=False,
        # A list ignores query parameters it does not know (PageQuery, docs/api.md §2), so an
        # undeclared one is no negative case.
        allow_extra_parameters=False,
    )
    return loaded


schema = _api_schema()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, app, seeded):
    security = case.operation.definition.raw.get("security") or []
    headers = {}
    for requirement in security:
        for name in requirement:
            headers.update(seeded[name])
    if case.meta is None or case.meta.generation.mode.is_positive:
        # Valid input reaches the seeded objects (negative input keeps its odd ids: a 404).
        for name in list(case.path_parameters or {}):
            case.path_parameters[name] = seeded["path"].get(name, case.path_parameters[name])
        if case.headers and "Idempotency-Key" in case.headers:
            # A fresh key each time, or most calls would replay or collide (409, documented).
            case.headers["Idempotency-Key"] = f"fuzz-{next(_FRESH_KEYS)}"
    response = case.call(base_url=BASE_URL, headers=headers, app=app)
    checks = CHECKS
    if response.status_code == 400 and _param_of(response) in BEYOND_THE_SCHEMA:
        checks = [check for check in CHECKS if check is not positive_data_acceptance]
    case.validate_response(response, checks=checks, headers=headers)


def _param_of(response) -> str | None:
    try:
        return response.json()["error"].get("param")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
