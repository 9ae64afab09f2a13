"""Request lifecycle shared by every blueprint: request ids, HTTPS only, security headers."""

from __future__ import annotations

import ipaddress
import re
import secrets
import time
from urllib.parse import urlsplit

from flask import Flask, current_app, g, jsonify, redirect, request
from werkzeug.sansio.utils import get_current_url

from kadosei.errors import NotFound, PermissionDenied, invalid
from kadosei.metrics import HTTP_REQUEST_SECONDS

JSON_PREFIXES = ("/api/", "/providers/")
# Liveness and readiness probes (kadosei.ops): a load balancer asks each instance directly, over
# plain HTTP; they carry no data. Everything else is HTTPS only.
PLAIN_HTTP_PATHS = frozenset({"/healthz", "/readyz"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")


def is_json_path(path: str) -> bool:
    return path.startswith(JSON_PREFIXES)


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _assign_request_id() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else f"req_{secrets.token_hex(12)}"


def _require_https():
    """Plain HTTP: JSON gets 403 https_required; pages redirect GET, refuse other methods."""
    if request.is_secure or request.path in PLAIN_HTTP_PATHS:
        return None
    if current_app.config["KADOSEI_ALLOW_HTTP_LOOPBACK"] and _loopback(request.remote_addr):
        return None
    if is_json_path(request.path):
        error = PermissionDenied("kadosei only answers over HTTPS", code="https_required")
        return jsonify(error.to_dict()), 403
    if request.method in ("GET", "HEAD"):
        return redirect(_https_url(), code=301)
    return "HTTPS is required", 403


def _https_url() -> str:
    """This request's path and query under ``KADOSEI_PUBLIC_URL`` (never the request's own
    host, which a forged ``Host`` header would choose)."""
    public = urlsplit(current_app.config["KADOSEI_PUBLIC_URL"])
    return get_current_url("https", public.netloc, public.path, request.path, request.query_string)


def _refuse_nul_in_url():
    """A NUL in the path or query names nothing (and PostgreSQL text cannot hold one)."""
    if "\x00" in request.path:
        raise NotFound("Unrecognized request URL")
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise invalid(name, f"{name} must not contain NUL characters")
    return None


def _observe_latency(response):
    started = g.get("request_started")
    if started is not None:
        HTTP_REQUEST_SECONDS.labels(
            request.endpoint or "unmatched", request.method, str(response.status_code)
        ).observe(time.perf_counter() - started)
    return response


def _add_headers(response):
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html":
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; form-action 'self' https: http://localhost:* "
            "http://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'",
        )
    if is_json_path(request.path) or request.path.startswith("/checkout/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_http(app: Flask) -> None:
    # Ahead of every extension's hooks: each response gets an id, and plain HTTP goes no further
    # (a plain-HTTP form post is 403, not a CSRF or rate-limit answer).
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks[:0] = [_assign_request_id, _require_https, _refuse_nul_in_url]
    app.after_request(_add_headers)
    app.after_request(_observe_latency)
