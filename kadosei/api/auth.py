"""Management auth: login, refresh (rotating), logout."""

from __future__ import annotations

from flask import request

from kadosei.api.blueprint import bp
from kadosei.api.decorators import jwt_required, presented_access_token
from kadosei.api.request import body_is_empty, json_body
from kadosei.login_limits import limit_failed_logins, limit_failed_token_use
from kadosei.services import accounts, tokens
from kadosei.services.validation import reject_unknown


@bp.post("/auth/login")
@limit_failed_logins
def login():
    data = json_body()
    reject_unknown(data, {"email", "password"})
    user = accounts.authenticate(data.get("email"), data.get("password"), ip=request.remote_addr)
    return tokens.login_tokens(user).to_dict()


@bp.post("/auth/refresh")
@limit_failed_token_use
def refresh():
    data = json_body()
    reject_unknown(data, {"refresh_token"})
    return tokens.refresh_tokens(data.get("refresh_token"), ip=request.remote_addr).to_dict()


@bp.post("/auth/logout")
@limit_failed_token_use
def logout():
    """``{refresh_token}`` revokes that token's family, and a presented access token's. An
    empty body (§2: no Content-Type needed) logs out the access token's session alone."""
    if body_is_empty():
        return _logout_access_token()
    data = json_body()
    reject_unknown(data, {"refresh_token"})
    tokens.log_out(data.get("refresh_token"), access_token=presented_access_token())
    return "", 204


@jwt_required
def _logout_access_token():
    """A valid access token's session ends: 204 (401 ``missing_credentials`` without one)."""
    tokens.log_out(access_token=presented_access_token())
    return "", 204
