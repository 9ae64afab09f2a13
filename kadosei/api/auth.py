"""Management auth: login, refresh (rotating), logout."""

from __future__ import annotations

from flask import current_app, request

from kadosei.api.blueprint import bp
from kadosei.api.request import json_body
from kadosei.extensions import limiter
from kadosei.services import accounts, tokens
from kadosei.services.validation import reject_unknown


def _login_account_key() -> str:
    """Rate-limit key per account: the e-mail being tried, whoever tries it."""
    data = request.get_json(silent=True)
    email = data.get("email") if isinstance(data, dict) else None
    return f"login-account:{str(email).strip().lower()[:320]}"


def _failed(response) -> bool:
    return response.status_code == 401


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.post("/auth/login")
@limiter.limit(_login_limit, deduct_when=_failed)
@limiter.limit(_login_limit, key_func=_login_account_key, deduct_when=_failed)
def login():
    data = json_body()
    reject_unknown(data, {"email", "password"})
    user = accounts.authenticate(data.get("email"), data.get("password"), ip=request.remote_addr)
    return tokens.login_tokens(user).to_dict()


@bp.post("/auth/refresh")
@limiter.limit(_login_limit, deduct_when=_failed)
def refresh():
    data = json_body()
    reject_unknown(data, {"refresh_token"})
    return tokens.refresh_tokens(data.get("refresh_token"), ip=request.remote_addr).to_dict()


@bp.post("/auth/logout")
def logout():
    data = json_body()
    reject_unknown(data, {"refresh_token"})
    tokens.revoke_refresh_token(data.get("refresh_token"))
    return "", 204
