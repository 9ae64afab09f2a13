"""The errors of the public contract (docs/api.md §2); services raise them, the API renders them."""

from __future__ import annotations


class KadoseiError(Exception):
    """An error with a place in the contract's envelope."""

    status = 400
    type = "invalid_request_error"
    code = "parameter_invalid"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        if code:
            self.code = code
        if status:
            self.status = status

    def to_dict(self) -> dict:
        error = {"type": self.type, "code": self.code, "message": self.message}
        if self.param:
            error["param"] = self.param
        return {"error": error}


class InvalidRequest(KadoseiError):
    """400: missing, invalid or unknown parameters, malformed JSON."""


class AuthenticationFailed(KadoseiError):
    status = 401
    type = "authentication_error"
    code = "invalid_credentials"


class PermissionDenied(KadoseiError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class NotFound(KadoseiError):
    status = 404
    code = "resource_missing"


class Unprocessable(KadoseiError):
    """422: the request is valid but cannot be carried out in the object's state."""

    status = 422


class IdempotencyConflict(KadoseiError):
    status = 409
    type = "idempotency_error"
    code = "idempotency_key_in_use"


class RateLimited(KadoseiError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"


class ApiFailure(KadoseiError):
    status = 500
    type = "api_error"
    code = "internal_error"


def missing(param: str) -> InvalidRequest:
    return InvalidRequest(f"{param} is required", param=param, code="parameter_missing")


def invalid(param: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="parameter_invalid")


def not_found(kind: str, object_id: str | None = None) -> NotFound:
    what = f" '{object_id}'" if object_id else ""
    return NotFound(f"No such {kind}{what}", param="id" if object_id else None)


class ProviderUnavailable(KadoseiError):
    """A provider kadosei had to ask could not answer: nothing changed; try again later."""

    status = 503
    type = "api_error"
    code = "provider_unavailable"


class ServiceUnavailable(KadoseiError):
    """kadosei's own database could not be reached: nothing was written; retry after a moment."""

    status = 503
    type = "api_error"
    code = "service_unavailable"


class NotificationTooEarly(KadoseiError):
    """A verified notification about a payment kadosei is still creating: refused, so that the
    provider sends it again once kadosei has stored the payment."""

    status = 503
    type = "api_error"
    code = "notification_too_early"
