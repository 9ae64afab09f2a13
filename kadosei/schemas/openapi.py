"""The OpenAPI 3.1 document, generated: component schemas from the request and response
models (``model_json_schema``), paths from a small table of ``Operation``s. Nothing here
describes a field by hand: a field or a limit changed in a model changes the document."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

JSON = "application/json"
REF = "#/components/schemas/{model}"
SECURITY_SCHEMES = {
    "managementToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from `POST /api/v1/auth/login`",
    },
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "ks_test_… / ks_live_…",
        "description": "An API key: it decides the application and the mode",
    },
}


@dataclass(frozen=True)
class Response:
    status: int
    description: str
    model: type[BaseModel] | None = None


@dataclass(frozen=True)
class Operation:
    """One row of the table: a route, who may call it, what it takes and what it answers."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    security: str | None
    ok: Response
    errors: tuple[str, ...]
    description: str | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    raw_body: dict | None = None  # a body no model describes (a PSP's own signed format)
    query: type[BaseModel] | None = None
    headers: tuple[dict, ...] = field(default=())


@dataclass(frozen=True)
class PathParameter:
    name: str
    prefix: str | None  # the id's type prefix (``ps`` for ``ps_…``), if it is an id

    def as_parameter(self) -> dict:
        schema: dict = {"type": "string"}
        if self.prefix:
            schema["pattern"] = f"^{self.prefix}_[0-9A-Za-z]+$"
        return {"name": self.name, "in": "path", "required": True, "schema": schema}


def build_document(
    *,
    info: dict,
    tags: Iterable[str],
    operations: Iterable[Operation],
    path_parameters: Iterable[PathParameter],
    error_responses: dict[str, str],
    error_model: type[BaseModel],
    extra_models: Iterable[type[BaseModel]] = (),
) -> dict:
    operations = list(operations)
    parameters = {p.name: p for p in path_parameters}
    models = _models(operations, error_model, extra_models)
    refs, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF
    )
    schemas = definitions.get("$defs", {})
    _inline(schemas, error_model.__name__, "error")
    ref_of = {model: refs[(model, "validation")] for model in models}
    paths: dict = {}
    for op in operations:
        item = paths.setdefault(op.path, {})
        names = re.findall(r"{([^}]+)}", op.path)
        item["parameters"] = [parameters[name].as_parameter() for name in names]
        item[op.method] = _operation(op, ref_of)
    return {
        "openapi": "3.1.0",
        "info": info,
        "servers": [{"url": "/"}],
        "tags": [{"name": name} for name in tags],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": _error_responses(error_responses, ref_of[error_model]),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _models(operations, error_model, extra_models) -> list[type[BaseModel]]:
    found = [error_model, *extra_models]
    for op in operations:
        found += [m for m in (op.body, op.ok.model) if m is not None]
    return list(dict.fromkeys(found))


def _inline(schemas: dict, name: str, prop: str) -> None:
    """Show ``name``'s single nested object in place (the error envelope reads at a glance)."""
    ref = schemas[name]["properties"][prop].get("$ref")
    if ref:
        inner = ref.rsplit("/", 1)[1]
        schemas[name]["properties"][prop] = schemas.pop(inner)


def _operation(op: Operation, ref_of: dict) -> dict:
    ok: dict = {"description": op.ok.description}
    if op.ok.model is not None:
        ok["content"] = {JSON: {"schema": ref_of[op.ok.model]}}
    operation: dict = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{op.security: []}] if op.security else [],
        "responses": {
            str(op.ok.status): ok,
            **{code: {"$ref": f"#/components/responses/{code}"} for code in op.errors},
        },
    }
    if op.description:
        operation["description"] = op.description
    parameters = [*op.headers, *(_query_parameters(op.query) if op.query else [])]
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        schema = ref_of[op.body]
        operation["requestBody"] = {
            "required": op.body_required,
            "content": {JSON: {"schema": schema}},
        }
    elif op.raw_body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": op.raw_body}}}
    return operation


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    """One ``in: query`` parameter per field of a query model (never required)."""
    schema = model.model_json_schema(ref_template=REF)
    assert "$defs" not in schema, f"{model.__name__}: query fields are scalars"
    parameters = []
    for name, prop in schema["properties"].items():
        prop = _not_null(dict(prop))
        prop.pop("title", None)
        description = prop.pop("description", None)
        parameter = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _not_null(schema: dict) -> dict:
    """A query value is a string or absent, never ``null``: drop the ``null`` branch."""
    branches = schema.get("anyOf")
    if branches:
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**kept[0], **rest}
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    return schema


def _error_responses(texts: dict[str, str], error_ref: dict) -> dict:
    responses = {
        code: {"description": text, "content": {JSON: {"schema": error_ref}}}
        for code, text in texts.items()
    }
    if "429" in responses:
        responses["429"]["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}
        }
    return responses
