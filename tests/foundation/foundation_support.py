"""Shared helpers for the foundation tests: portal forms with CSRF, JSON calls, envelopes."""

from __future__ import annotations

import re

from tests.factories import PASSWORD

_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'type="hidden" name="csrf_token" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a rendered page."""
    match = _CSRF.search(html)
    assert match, "the page has no csrf_token field"
    return next(group for group in match.groups() if group)


class Portal:
    """A browser on the portal: reads each page and posts its forms with their token."""

    def __init__(self, client):
        self.client = client

    def token(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return csrf_token(response.get_data(as_text=True))

    def post_form(self, path: str, data: dict, *, token_from: str | None = None, **kwargs):
        token = self.token(token_from or path)
        return self.client.post(path, data={**data, "csrf_token": token}, **kwargs)

    def signup(self, email: str = "ada@example.com", password: str = PASSWORD, **kwargs):
        data = {
            "merchant_name": "Ada's Shop",
            "email": email,
            "password": password,
            "confirm": password,
        }
        return self.post_form("/signup", data, **kwargs)

    def login(self, email: str, password: str = PASSWORD, path: str = "/login", **kwargs):
        return self.post_form(path, {"email": email, "password": password}, **kwargs)


class Api:
    """JSON calls to /api/v1 with a bearer credential."""

    def __init__(self, client, headers: dict | None = None):
        self.client = client
        self.headers = headers or {}

    def call(self, method: str, path: str, json=None, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(
            "/api/v1" + path, method=method, json=json, headers=headers, **kwargs
        )

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.call("POST", path, json, **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self.call("PATCH", path, json, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.call("DELETE", path, **kwargs)


def error_of(response) -> dict:
    """The contract's error envelope of a JSON response (asserting it has that shape)."""
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)[:300]
    assert set(body) == {"error"}, body
    assert {"type", "code", "message"} <= set(body["error"]), body
    return body["error"]
