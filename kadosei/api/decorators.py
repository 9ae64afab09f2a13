"""One decorator each for JWT (management) and API-key (payments) authentication."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from kadosei.api.key_limits import check_api_key_limit
from kadosei.errors import AuthenticationFailed
from kadosei.permissions import ensure_permitted
from kadosei.services.api_keys import authenticate_api_key
from kadosei.services.tokens import authenticate_access_token


def presented_access_token() -> str | None:
    """The bearer credential of a call that takes one optionally (logout), if it looks like an
    access token rather than an API key."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or token.startswith("ks_"):
        return None
    return token


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise AuthenticationFailed(
            "Provide credentials as 'Authorization: Bearer …'", code="missing_credentials"
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Use the Bearer authorization scheme")
    return token.strip()


def jwt_required(view):
    """Management calls: a JWT access token (API keys are refused) whose user's role may make
    this call (``kadosei.permissions``: ``403 forbidden`` otherwise)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _bearer()
        if token.startswith("ks_"):
            raise AuthenticationFailed(
                "This endpoint takes a management access token, not an API key"
            )
        # Logout, a revoked refresh family or a removed user end the token at once.
        g.user, g.merchant = authenticate_access_token(token)
        ensure_permitted(g.user, request.endpoint, request.method)
        return view(*args, **kwargs)

    wrapper.authentication = "jwt"
    return wrapper


def api_key_required(view):
    """Payment calls: an API key that decides application and mode; JWTs are refused."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _bearer()
        if not token.startswith("ks_"):
            raise AuthenticationFailed("This endpoint takes an API key (ks_test_… or ks_live_…)")
        context = authenticate_api_key(token)
        check_api_key_limit(context.api_key_id)
        g.api_key_id = context.api_key_id
        g.application = context.application
        g.mode = context.mode
        return view(*args, **kwargs)

    wrapper.authentication = "api_key"
    return wrapper
