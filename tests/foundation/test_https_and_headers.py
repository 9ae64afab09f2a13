"""HTTPS only (docs/api.md §2), the proxy setting, request ids and security headers."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from foundation_support import error_of

from kadosei import create_app
from kadosei.extensions import db as _db
from tests.conftest import make_test_app


@pytest.fixture
def make_app(database_url, _schema):
    """Build an app with particular settings; each is torn down after the test."""
    built = []

    def build(**overrides):
        app = make_test_app(database_url, **overrides)
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            _db.engine.dispose()


def _plain(app, method: str, path: str, remote: str = "203.0.113.5", **kwargs):
    client = app.test_client()
    environ = {"REMOTE_ADDR": remote, **kwargs.pop("environ_base", {})}
    return client.open(
        path, method=method, base_url="http://kadosei.test", environ_base=environ, **kwargs
    )


def test_plain_http_json_is_403_https_required_without_redirect(make_app):
    app = make_app()

    for method, path in [
        ("GET", "/api/v1/merchant"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/providers/sandbox/notifications"),
    ]:
        response = _plain(app, method, path, json={})
        assert response.status_code == 403, path
        assert error_of(response) == {
            "type": "permission_error",
            "code": "https_required",
            "message": error_of(response)["message"],
        }
        assert "Location" not in response.headers


def test_plain_http_page_get_redirects_to_https(make_app):
    response = _plain(make_app(), "GET", "/login?next=/x")

    assert response.status_code in (301, 308)
    assert response.headers["Location"] == "https://kadosei.test/login?next=/x"


def test_plain_http_page_post_is_403(make_app):
    response = _plain(make_app(), "POST", "/login", data={"email": "a@example.com"})

    assert response.status_code == 403


def test_forwarded_proto_is_trusted_behind_one_proxy(make_app):
    app = make_app(KADOSEI_PROXY_COUNT=1)

    response = _plain(app, "GET", "/login", headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 200
    assert "Strict-Transport-Security" in response.headers


def test_forwarded_proto_is_ignored_without_a_trusted_proxy(make_app):
    app = make_app(KADOSEI_PROXY_COUNT=0)

    page = _plain(app, "GET", "/login", headers={"X-Forwarded-Proto": "https"})
    api = _plain(app, "GET", "/api/v1/merchant", headers={"X-Forwarded-Proto": "https"})

    assert page.status_code == 301
    assert api.status_code == 403
    assert error_of(api)["code"] == "https_required"


def test_forwarded_for_sets_the_client_address_behind_a_trusted_proxy(make_app, factories):
    app = make_app(KADOSEI_PROXY_COUNT=1, LOGIN_RATE_LIMIT="2 per minute")
    headers = {"X-Forwarded-Proto": "https"}
    body = {"email": "nobody@example.com", "password": "wrong password"}
    for _ in range(2):
        spoofing = {**headers, "X-Forwarded-For": "198.51.100.1"}
        assert (
            _plain(app, "POST", "/api/v1/auth/login", json=body, headers=spoofing).status_code
            == 401
        )

    limited = _plain(
        app,
        "POST",
        "/api/v1/auth/login",
        json={**body, "email": "x@example.com"},
        headers={**headers, "X-Forwarded-For": "198.51.100.1"},
    )
    another = _plain(
        app,
        "POST",
        "/api/v1/auth/login",
        json={**body, "email": "y@example.com"},
        headers={**headers, "X-Forwarded-For": "198.51.100.2"},
    )

    assert limited.status_code == 429
    assert another.status_code == 401


def test_loopback_http_is_allowed_only_when_configured(make_app):
    allowed = make_app(KADOSEI_ALLOW_HTTP_LOOPBACK=True)
    refused = make_app(KADOSEI_ALLOW_HTTP_LOOPBACK=False)

    assert _plain(allowed, "GET", "/login", remote="127.0.0.1").status_code == 200
    assert _plain(allowed, "GET", "/login", remote="::1").status_code == 200
    assert _plain(allowed, "GET", "/login", remote="192.168.1.20").status_code == 301
    assert _plain(refused, "GET", "/login", remote="127.0.0.1").status_code == 301


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_development_allows_loopback_http_and_says_so_at_start(database_url, _schema, monkeypatch):
    monkeypatch.delenv("KADOSEI_ALLOW_HTTP_LOOPBACK", raising=False)
    records = _Records()
    logger = logging.getLogger("kadosei")
    logger.addHandler(records)
    try:
        app = create_app(
            {
                "KADOSEI_ENV": "development",
                "SECRET_KEY": "x" * 40,
                "DATABASE_URL": database_url,
                "REDIS_URL": None,
                "RATELIMIT_STORAGE_URI": "memory://",
                "KADOSEI_PROXY_COUNT": 0,
            }
        )
    finally:
        logger.removeHandler(records)

    assert any("plain HTTP" in message for message in records.messages)
    assert _plain(app, "GET", "/login", remote="127.0.0.1").status_code == 200
    assert _plain(app, "GET", "/login", remote="10.0.0.7").status_code == 301
    with app.app_context():
        _db.engine.dispose()


def test_production_never_allows_plain_http(make_app):
    app = make_app(
        KADOSEI_ENV="production",
        KADOSEI_ENCRYPTION_KEYS=(Fernet.generate_key().decode(),),
        KADOSEI_ALLOW_HTTP_LOOPBACK=True,
        KADOSEI_PROXY_COUNT=0,
    )

    assert _plain(app, "GET", "/login", remote="127.0.0.1").status_code == 301


def test_every_response_carries_a_request_id(client, factories):
    _, user = factories.make_merchant()
    responses = [
        client.get("/login"),
        client.get("/no/such/page"),
        client.get("/api/v1/no/such/endpoint"),
        client.get("/api/v1/merchant"),
        client.get("/api/v1/merchant", headers=factories.jwt_headers(user)),
        client.put("/api/v1/merchant"),
        client.post("/api/v1/auth/login", data="x", content_type="text/plain"),
    ]

    ids = [response.headers.get("X-Request-Id") for response in responses]
    assert all(ids), ids
    assert len(set(ids)) == len(ids)


def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(client):
    kept = client.get("/login", headers={"X-Request-Id": "lb-1234567890"})
    replaced = client.get("/login", headers={"X-Request-Id": "<script>alert(1)</script>"})

    assert kept.headers["X-Request-Id"] == "lb-1234567890"
    assert replaced.headers["X-Request-Id"].startswith("req_")


def test_plain_http_refusals_carry_a_request_id(make_app):
    assert _plain(make_app(), "GET", "/api/v1/merchant").headers["X-Request-Id"]


def test_html_pages_carry_security_headers(client):
    response = client.get("/login")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert (
        int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000
    )
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_json_responses_are_not_cached(client):
    response = client.get("/api/v1/merchant")

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Strict-Transport-Security"]


def test_html_error_pages_are_pages_not_json(client):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unexpected_errors_are_500_envelopes_without_a_stack_trace(app, client):
    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/_explode_for_test", "explode_for_test", explode)

    response = client.get("/api/v1/_explode_for_test")

    assert response.status_code == 500
    assert error_of(response)["type"] == "api_error"
    assert error_of(response)["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert response.headers["X-Request-Id"] in error_of(response)["message"]


@pytest.mark.parametrize("path", ["/api/v1/applications/%00", "/api/v1/applications?limit=%00"])
def test_nul_in_the_url_is_a_clean_4xx(client, factories, path):
    _, user = factories.make_merchant()

    response = client.get(path, headers=factories.jwt_headers(user))

    assert response.status_code in (400, 404)
    assert error_of(response)["type"] == "invalid_request_error"
