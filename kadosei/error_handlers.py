"""One error envelope for JSON paths (docs/api.md §2), friendly pages for people."""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, g, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from kadosei.errors import KadoseiError, RateLimited, ServiceUnavailable
from kadosei.extensions import db, limiter
from kadosei.http import is_json_path

log = logging.getLogger("kadosei.errors")
DATABASE_RETRY_AFTER = 5  # seconds: a restart or a failover is usually over by then

HTTP_CODES = {
    400: ("invalid_request_error", "parameter_invalid"),
    401: ("authentication_error", "missing_credentials"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "resource_missing"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
}


def _json_error(status: int, type_: str, code: str, message: str, headers=None):
    body = {"error": {"type": type_, "code": code, "message": message}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _page(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title, message=message), status


def handle_kadosei_error(error: KadoseiError):
    if is_json_path(request.path):
        response = jsonify(error.to_dict())
        response.status_code = error.status
        response.headers.update(error.headers)
        return response
    title = "Your role does not allow this" if error.status == 403 else "Something is not right"
    return _page(error.status, title, error.message)


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if is_json_path(request.path):
        type_, code = HTTP_CODES.get(status, ("api_error", "internal_error"))
        message = error.description or error.name
        if status == 404:
            message = "Unrecognized request URL"
        elif status == 405:
            message = f"{request.method} is not allowed on this URL"
        return _json_error(status, type_, code, message, _allow_header(error))
    return _page(status, error.name, error.description or "")


def _allow_header(error: HTTPException) -> dict[str, str]:
    """A 405 names the methods the URL takes (RFC 9110 §15.5.6)."""
    allowed = getattr(error, "valid_methods", None)
    return {"Allow": ", ".join(sorted(allowed))} if allowed else {}


def handle_rate_limit(error: RateLimitExceeded):
    retry_after = 60
    current = limiter.current_limit
    if current is not None:
        retry_after = max(1, math.ceil(current.reset_at - time.time()))
    limited = RateLimited(
        "Too many requests; retry later", headers={"Retry-After": str(retry_after)}
    )
    if is_json_path(request.path):
        return handle_kadosei_error(limited)
    body, status = _page(429, "Too many attempts", "Please wait a moment and try again.")
    return body, status, {"Retry-After": str(retry_after)}


def handle_csrf(error: CSRFError):
    return _page(400, "Your form expired", "Please go back, reload the page and try again.")


def handle_database_unavailable(error: OperationalError):
    """The database is unreachable (restarting, failing over): a clean ``503`` with
    ``Retry-After``; the pool reconnects by itself once it is back."""
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone: the pool replaces it on the next checkout
        db.session().invalidate()
    log.warning("database unavailable on %s %s: %s", request.method, request.path, error.orig)
    unavailable = ServiceUnavailable(
        "kadosei cannot reach its database just now; retry shortly (with the same "
        "Idempotency-Key, if the request had one)",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )
    if is_json_path(request.path):
        return handle_kadosei_error(unavailable)
    body, status = _page(503, "Temporarily unavailable", "Please try again in a moment.")
    return body, status, unavailable.headers


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    if is_json_path(request.path):
        message = f"An internal error occurred (request {g.get('request_id')})"
        return _json_error(500, "api_error", "internal_error", message)
    return _page(500, "Something went wrong", f"Reference: {g.get('request_id')}")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(KadoseiError, handle_kadosei_error)
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
