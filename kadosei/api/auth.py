"""Management auth: login, refresh (rotating), logout."""

from __future__ import annotations

from flask import request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import jwt_required, presented_access_token
from kadosei.api.request import body_is_empty, json_body
from kadosei.login_limits import limit_failed_logins, limit_failed_token_use
from kadosei.representation import serialize_token_pair
from kadosei.schemas.parsing import parse
from kadosei.schemas.requests import LoginRequest, LogoutRequest, RefreshRequest
from kadosei.services import accounts, tokens


@bp.post("/auth/login")
@limit_failed_logins
def login():
    credentials = parse(LoginRequest, json_body())
    user = accounts.authenticate(
        credentials.email, credentials.password, ip=request.remote_addr, otp=credentials.otp
    )
    return serialize_token_pair(tokens.login_tokens(user))


@bp.post("/auth/refresh")
@limit_failed_token_use
def refresh():
    token = parse(RefreshRequest, json_body()).refresh_token
    return serialize_token_pair(tokens.refresh_tokens(token, ip=request.remote_addr))


@bp.post("/auth/logout")
@limit_failed_token_use
def logout():
    """``{refresh_token}`` revokes that token's family, and a presented access token's. An
    empty body (§2: no Content-Type needed) logs out the access token's session alone."""
    if body_is_empty():
        return _logout_access_token()
    body = parse(LogoutRequest, json_body())
    tokens.log_out(body.refresh_token, access_token=presented_access_token())
    return "", 204


@jwt_required
def _logout_access_token():
    """A valid access token's session ends: 204 (401 ``missing_credentials`` without one)."""
    tokens.log_out(access_token=presented_access_token())
    return "", 204
