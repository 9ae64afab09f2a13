"""Failed-login limits shared by the portal and the API (docs/api.md §2): per client address and per
account, counted together whichever door the attempts come through."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request

from kadosei import bounded_json
from kadosei.extensions import limiter
from kadosei.http import is_json_path

ACCOUNT_SCOPE = "login-account"
CLIENT_SCOPE = "login-client"
RESET_SCOPE = "password-reset"


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _failed(response) -> bool:
    return response.status_code == 401


def _account_key() -> str:
    """The e-mail being tried (form or JSON body), whoever tries it."""
    if is_json_path(request.path):
        try:
            data = bounded_json.load(request.get_data(cache=True))
        except bounded_json.RefusedJson:
            data = None
        email = data.get("email") if isinstance(data, dict) else None
    else:
        email = request.form.get("email")
    return f"{ACCOUNT_SCOPE}:{str(email or '').strip().lower()[:320]}"


def limit_failed_logins(view: Callable) -> Callable:
    """Count failed (401) log-ins per account and per client address; 429 past the limit."""
    view = limiter.shared_limit(
        _limit, ACCOUNT_SCOPE, key_func=_account_key, methods=["POST"], deduct_when=_failed
    )(view)
    return limit_failed_token_use(view)


def limit_failed_token_use(view: Callable) -> Callable:
    """Count failed (401) credential checks per client address, shared with log-ins."""
    return limiter.shared_limit(_limit, CLIENT_SCOPE, methods=["POST"], deduct_when=_failed)(view)


def limit_failed_second_factor(account_of: Callable[[], str]) -> Callable:
    """Like :func:`limit_failed_logins` for the portal's second log-in step, whose form
    carries no e-mail: ``account_of`` names the account (its e-mail), so wrong passwords and
    wrong codes for one account count together."""

    def account_key() -> str:
        return f"{ACCOUNT_SCOPE}:{account_of().strip().lower()[:320]}"

    def decorate(view: Callable) -> Callable:
        view = limiter.shared_limit(
            _limit, ACCOUNT_SCOPE, key_func=account_key, methods=["POST"], deduct_when=_failed
        )(view)
        return limit_failed_token_use(view)

    return decorate


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


def _reset_account_key() -> str:
    return f"{RESET_SCOPE}:{str(request.form.get('email') or '').strip().lower()[:320]}"


def limit_password_reset_requests(view: Callable) -> Callable:
    """Count every password-reset request per e-mail address and per client address (the
    answer is always the same, so there is no failure to count); 429 past the limit."""
    view = limiter.shared_limit(
        _reset_limit, RESET_SCOPE, key_func=_reset_account_key, methods=["POST"]
    )(view)
    return limiter.shared_limit(_reset_limit, f"{RESET_SCOPE}-client", methods=["POST"])(view)
