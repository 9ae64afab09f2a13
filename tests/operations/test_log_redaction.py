"""Structured logs: the ids a request is about, and never a secret, a card-like number or an
e-mail address in clear — in the message, an extra field or an exception."""

from __future__ import annotations

import json
import logging

import pytest

from kadosei.logs import JsonFormatter, RequestIdFilter, redact


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("card 4242 4242 4242 4242 declined", "4242 4242 4242 4242", "[card …4242]"),
        ("pan=4000000000009995;", "4000000000009995", "[card …9995]"),
        ("from jane.doe+shop@example.com", "jane.doe+shop@example.com", "j…@example.com"),
        ("key ks_live_AbCdEf1234567890xyz used", "AbCdEf1234567890xyz", "ks_live_[redacted]"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8IL", "whsec_"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi", "Bearer [redacted]"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3IifQ.c2lnbmF0dXJl", "eyJhbGci", "[jwt]"),
    ],
)
def test_redact_masks_what_a_log_must_not_hold(text, hidden, kept):
    redacted = redact(text)

    assert hidden not in redacted
    assert kept in redacted


def test_redact_leaves_ids_amounts_and_times_alone():
    text = "session ps_7HkQ2 amount 1999 EUR took 812 ms at 2026-12-01T10:00:00"

    assert redact(text) == text


def _line(record: logging.LogRecord) -> dict:
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_a_request_log_line_names_the_merchant_application_and_session(app, client, factories):
    application = factories.make_application()
    _, secret = factories.make_api_key(application, "test")
    created = client.post(
        "/api/v1/payment_sessions",
        json={
            "amount": 500,
            "currency": "EUR",
            "payment_method": "card",
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/no",
        },
        headers={"Authorization": f"Bearer {secret}"},
    ).json
    lines = []
    with app.test_request_context(
        f"/api/v1/payment_sessions/{created['id']}", base_url="https://localhost"
    ):
        from flask import g, request

        request.view_args = {"session_id": created["id"]}
        g.request_id = "req_test1234"
        assert application.id and application.merchant_id  # loaded, as the API key's is
        g.application = application
        record = logging.LogRecord(
            "kadosei.test", logging.INFO, __file__, 1, "customer %s", ("ann@shop.example",), None
        )
        lines.append(_line(record))

    line = lines[0]
    assert line["request_id"] == "req_test1234"
    assert line["merchant_id"] == application.merchant_id
    assert line["application_id"] == application.id
    assert line["session_id"] == created["id"]
    assert line["message"] == "customer a…@shop.example"


def test_extra_fields_and_exceptions_are_redacted_too():
    try:
        raise ValueError("card 4111111111111111 for bob@example.org")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "kadosei.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    record.provider = "stripe_eu ks_test_ABCDEFGHIJKLMN"

    line = _line(record)

    assert "4111111111111111" not in line["exception"]
    assert "bob@example.org" not in line["exception"]
    assert line["provider"] == "stripe_eu ks_test_[redacted]"
