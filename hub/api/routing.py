"""The route table's vocabulary: what one endpoint declares, and how it is served.

A `Route` states everything about an endpoint once — method, path, who may call it, the
pydantic models of its path parameters, query string and body, its responses — and both the
aiohttp router (`add_routes`) and the OpenAPI document (`hub.api.openapi`) are built from it.
The generic endpoint wrapper authenticates, validates, then calls the handler with a `Call`;
handlers never parse raw input themselves.

Input failures: path and query parameters → 400 `invalid_parameter` (field = the parameter
name); body not JSON → 400 `malformed_json`; body JSON that does not fit the model → 422
`validation_error` (field = the dotted wire path, e.g. `flags.social_worker_email`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from hub.api.auth import authenticate
from hub.api.context import STATE, Call
from hub.api.errors import ApiError, forbidden, validation_failed
from hub.api.jsonbody import parse_json, read_body

Handler = Callable[[Call], Awaitable[web.StreamResponse]]


class Access(Enum):
    """Who may call a route."""

    #: No token (health, metrics, the OpenAPI document).
    PUBLIC = "public"
    #: Any valid bearer token; the handler applies the token's scope to what it touches.
    TOKEN = "token"
    #: A bearer token with the `admin` scope.
    ADMIN = "admin"
    #: No bearer token: the connection's adapter verifies the vendor's signature (webhooks).
    SIGNED = "signed"


@dataclass(frozen=True)
class Reply:
    """One documented success response."""

    description: str
    model: type[BaseModel] | None = None
    #: For non-JSON bodies (`/metrics`): media type → JSON Schema.
    content: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    access: Access
    replies: Mapping[int, Reply]
    #: Path parameters, one field per `{name}` in `path` (values are validated: 400).
    path_model: type[BaseModel] | None = None
    #: Query parameters; unknown parameters are refused (400), so a typo is not ignored.
    query_model: type[BaseModel] | None = None
    #: The JSON body (422 when it does not fit). None: no body, or the handler reads it raw.
    body_model: type[BaseModel] | None = None
    #: A valid body, shown in the OpenAPI document and replayed by the API tests.
    body_example: Any = None
    #: The handler reads the raw body itself (webhooks): documented as free-form.
    raw_body: bool = False
    #: Error statuses this route can answer beyond the ones its declaration implies.
    errors: frozenset[int] = frozenset()
    tags: Sequence[str] = ()
    description: str | None = None
    operation_id: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.body_model is not None and self.body_example is None:
            raise ValueError(f"{self.method} {self.path}: a body model needs a body_example")

    @property
    def error_statuses(self) -> frozenset[int]:
        """Every error status this route can answer (what the OpenAPI document lists)."""
        statuses = set(self.errors) | {500}
        if self.path_model or self.query_model or self.body_model or self.raw_body:
            statuses.add(400)
        if self.access in (Access.TOKEN, Access.ADMIN, Access.SIGNED):
            statuses.add(401)
            statuses.add(503)  # every authenticated call reads the database (database_*)
        if self.access is Access.ADMIN:
            statuses.add(403)
        if self.body_model or self.raw_body:
            statuses.add(413)
        if self.body_model:
            statuses.add(422)
        return frozenset(statuses)


def json_reply(model: BaseModel, status: int = 200) -> web.Response:
    """A reply serialised by its pydantic model (by wire name), exactly as documented."""
    return web.Response(
        body=model.model_dump_json(by_alias=True),
        status=status,
        content_type="application/json",
    )


def add_routes(app: web.Application, routes: Sequence[Route]) -> None:
    for route in routes:
        app.router.add_route(route.method, route.path, _endpoint(route), name=_name(route))


def _name(route: Route) -> str:
    return route.operation_id or route.handler.__name__


def _endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        principal = None
        if route.access in (Access.TOKEN, Access.ADMIN):
            principal = await authenticate(request, state.runtime.sessions, state.now)
            if route.access is Access.ADMIN and not principal.is_admin:
                raise forbidden("this endpoint needs a token with the admin scope")
        path = _parameters(route.path_model, dict(request.match_info))
        query = _parameters(route.query_model, _single_values(request))
        body = None
        if route.body_model is not None:
            document = parse_json(await read_body(request))
            if not isinstance(document, dict):
                raise ApiError(422, "validation_error", "the request body must be a JSON object")
            try:
                body = route.body_model.model_validate(document)
            except ValidationError as exc:
                raise validation_failed(exc, status=422, code="validation_error") from None
        call = Call(request, state, principal, path=path, query=query, body=body)
        return await route.handler(call)

    endpoint.__name__ = _name(route)
    return endpoint


def _single_values(request: web.Request) -> dict[str, str]:
    values: dict[str, str] = {}
    for key in request.query:
        found = request.query.getall(key)
        if len(found) > 1:
            raise ApiError(400, "invalid_parameter", "give this parameter once", field=key)
        values[key] = found[0]
    return values


def _parameters(model: type[BaseModel] | None, values: dict[str, str]) -> BaseModel | None:
    if model is None:
        if values:
            raise ApiError(400, "invalid_parameter", "unknown parameter", field=sorted(values)[0])
        return None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "extra_forbidden":
            field = ".".join(str(p) for p in first["loc"])
            raise ApiError(400, "invalid_parameter", "unknown parameter", field=field) from None
        raise validation_failed(exc, status=400, code="invalid_parameter") from None
