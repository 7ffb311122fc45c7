"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

Schemas come from the models' JSON Schemas (OpenAPI 3.1 *is* JSON Schema 2020-12), under
`components/schemas`; parameters from the path and query models' fields; error responses
from what each route's declaration implies (`Route.error_statuses`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

import hub
from hub.api.routing import Access, Route
from hub.api.schemas import ErrorReply
from hub_contracts import AttendanceMark

REF = "#/components/schemas/{model}"

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON, a body nested too deeply, or an invalid or unknown parameter",
    401: "Missing, unknown, expired or revoked token (webhooks: bad signature)",
    403: "The token's scope does not cover the target",
    404: "Not found, or not visible to this token",
    413: "The body is larger than `api.max_body_bytes`",
    422: "The body does not fit the request schema; `field` names the offending field",
    500: "Unexpected error (logged; no details returned)",
    503: "The database (webhooks: or the connection) is unavailable, locked or full; "
    "nothing was written, retry after `Retry-After`",
}

_PATH_PARAM = re.compile(r"{([^}]+)}")


def build_openapi(routes: Sequence[Route]) -> dict[str, Any]:
    schemas = _component_schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    for route in routes:
        for model in (route.path_model, route.query_model):
            if model is not None:
                schemas.pop(model.__name__, None)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "attendance-hub",
            "version": hub.__version__,
            "description": (
                "School attendance integration hub (Wales and England). Every error is "
                '`{"error": {"code", "message", "field"}}`. Tokens carry scopes `admin`, '
                "`la:<la_code>` or `setting:<id>`."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `hub token create --scope ...`.",
                }
            },
        },
    }


def _component_schemas(routes: Sequence[Route]) -> dict[str, Any]:
    models: dict[str, type[BaseModel]] = {"ErrorReply": ErrorReply}
    # MarksBatch documents its items as AttendanceMark while validating them one by one.
    models["AttendanceMark"] = AttendanceMark
    for route in routes:
        candidates = [route.path_model, route.query_model, route.body_model]
        candidates += [reply.model for reply in route.replies.values()]
        for model in candidates:
            if model is not None:
                models[model.__name__] = model
    _, top = models_json_schema(
        [(model, "validation") for model in models.values()], ref_template=REF
    )
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id or route.handler.__name__,
        "summary": route.summary,
        "tags": list(route.tags),
        "security": [{"bearer": []}] if route.access in (Access.TOKEN, Access.ADMIN) else [],
        "responses": _responses(route),
    }
    if route.description:
        operation["description"] = route.description
    parameters = _parameters(route, schemas)
    if parameters:
        operation["parameters"] = parameters
    if route.body_model is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": REF.format(model=route.body_model.__name__)},
                    "example": route.body_example,
                }
            },
        }
    elif route.raw_body:
        operation["requestBody"] = {
            "required": True,
            "description": "The vendor's payload, passed verbatim to the connection's adapter.",
            "content": {"*/*": {"schema": {}}},
        }
    return operation


def _parameters(route: Route, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    declared = _PATH_PARAM.findall(route.path)
    out: list[dict[str, Any]] = []
    for where, model in (("path", route.path_model), ("query", route.query_model)):
        if model is None:
            continue
        schema = schemas[model.__name__]
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            param: dict[str, Any] = {"name": name, "in": where}
            if "description" in prop:
                param["description"] = prop.pop("description")
            prop.pop("title", None)
            param["required"] = where == "path" or name in required
            param["schema"] = _not_null(prop)
            out.append(param)
    path_names = [p["name"] for p in out if p["in"] == "path"]
    if sorted(path_names) != sorted(declared):
        raise ValueError(
            f"{route.method} {route.path}: path model fields {path_names} != {declared}"
        )
    return out


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter is absent, never null: drop pydantic's `None` branch and default."""
    options = schema.get("anyOf")
    if options is None:
        return schema
    kept = [option for option in options if option != {"type": "null"}]
    out = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    if len(kept) == 1:
        return {**kept[0], **out}
    return {**out, "anyOf": kept}


def _responses(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, reply in sorted(route.replies.items()):
        entry: dict[str, Any] = {"description": reply.description}
        if reply.model is not None:
            schema_ref = {"$ref": REF.format(model=reply.model.__name__)}
            entry["content"] = {"application/json": {"schema": schema_ref}}
        elif reply.content is not None:
            entry["content"] = {
                media: {"schema": dict(schema)} for media, schema in reply.content.items()
            }
        responses[str(status)] = entry
    for status in sorted(route.error_statuses):
        entry = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorReply")}}},
        }
        if status == 401:
            entry["headers"] = {
                "WWW-Authenticate": {
                    "description": "The authentication challenge",
                    "schema": {"type": "string"},
                }
            }
        responses[str(status)] = entry
    return responses
