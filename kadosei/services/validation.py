"""Field checks shared by every use case, raising the contract's 400 errors."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email

from kadosei.errors import InvalidRequest, invalid, missing


def reject_unknown(data: dict, allowed: set[str] | frozenset[str]) -> None:
    """Unknown fields are ``400 parameter_unknown``, naming the first one."""
    for name in data:
        if name not in allowed:
            raise InvalidRequest(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )


def string(
    data: dict,
    name: str,
    *,
    max_length: int,
    required: bool = False,
    min_length: int = 1,
) -> str | None:
    """A trimmed string field, ``None`` when absent (or null) and not required."""
    value = data.get(name)
    if value is None:
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string")
    if "\x00" in value:
        raise invalid(name, f"{name} must not contain NUL characters")
    value = value.strip()
    if len(value) < min_length:
        if required:
            raise missing(name) if not value else invalid(name, f"{name} is too short")
        return None
    if len(value) > max_length:
        raise invalid(name, f"{name} must be at most {max_length} characters")
    return value


def integer(data: dict, name: str, *, minimum: int, maximum: int, required: bool = False):
    """An integer field (not a bool, not a float) within bounds."""
    value: Any = data.get(name)
    if value is None:
        if required:
            raise missing(name)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(name, f"{name} must be an integer")
    if not minimum <= value <= maximum:
        raise invalid(name, f"{name} must be between {minimum} and {maximum}")
    return value


def boolean(data: dict, name: str) -> bool | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(name, f"{name} must be true or false")
    return value


def choice(data: dict, name: str, options, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str) or value not in options:
        raise invalid(name, f"{name} must be one of: {', '.join(options)}")
    return value


def email(data: dict, name: str, *, required: bool = False) -> str | None:
    """A syntactically valid e-mail address, normalised (no DNS look-up)."""
    value = string(data, name, max_length=320, required=required)
    if value is None:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise invalid(name, f"{name} is not a valid e-mail address: {exc}") from None
