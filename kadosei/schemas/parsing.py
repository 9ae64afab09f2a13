"""Parsing into a request model, and the one place a ``ValidationError`` becomes the
contract's ``400`` envelope (docs/api.md §2): ``parameter_unknown`` for a field the model does
not have (reported first), ``parameter_missing``, else ``parameter_invalid``; ``param`` names
the field from its top level (``metadata.cart``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from kadosei.errors import InvalidRequest
from kadosei.schemas.fields import INVALID, MISSING

Model = TypeVar("Model", bound=BaseModel)

# Predicates for pydantic's own error types; the parameter's name goes in front.
_PREDICATES = {
    "string_type": "must be a string",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} characters",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be one of: {expected}",
}

_UNITS = {"Dictionary": "keys", "List": "items"}


def parse(model: type[Model], data: Mapping[str, Any], *, context: dict | None = None) -> Model:
    """``data`` as ``model``, or the contract's ``400`` for its first broken rule."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise request_error(exc) from None


def request_error(exc: ValidationError) -> InvalidRequest:
    errors = exc.errors(include_url=False, include_input=False)
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    param = _param(first)
    kind = first["type"]
    if kind == "extra_forbidden":
        return InvalidRequest(
            f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
        )
    code = MISSING if kind in ("missing", MISSING) else INVALID
    return InvalidRequest(f"{param} {_predicate(first)}", param=param, code=code)


def _param(error: ErrorDetails) -> str:
    """``("metadata", "cart")`` → ``metadata.cart``; list positions and key markers dropped."""
    names = [str(p) for p in error["loc"] if not isinstance(p, int) and p != "[key]"]
    return ".".join(names)


def _predicate(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind in (INVALID, MISSING):
        return error["msg"]
    if kind == "missing":
        return "is required"
    if kind == "literal_error" and any(isinstance(p, int) for p in error["loc"]):
        return f"must list only: {error.get('ctx', {}).get('expected')}"
    if kind in ("too_long", "too_short"):
        ctx = error.get("ctx", {})
        unit = _UNITS.get(ctx.get("field_type"), "characters")
        if kind == "too_long":
            return f"must have at most {ctx.get('max_length')} {unit}"
        return f"must have at least {ctx.get('min_length')} {unit}"
    template = _PREDICATES.get(kind)
    if template is None:
        return f"is invalid: {error['msg']}"
    return template.format(**error.get("ctx", {}))
