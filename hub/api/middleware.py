"""Middlewares: request context and logging, metrics, and the one JSON error shape.

`observe` (outermost) gives each request an id (`X-Request-Id`, echoed back), binds it to the
structlog context, and records route template, status and duration — never the body, the
query string, a token or a UPN (routes are logged by template: `/v1/learners/{upn}/marks`).
`errors` refuses oversized bodies by `Content-Length` before reading them, and turns every
failure into `{"error": {"code", "message", "field"}}`; a database that is down, locked or
full becomes a 503 with `Retry-After` (`database_failure`), and any other unexpected exception
a 500 whose details are logged (type and code location, not the message, which could quote
data).
"""

from __future__ import annotations

import re
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from hub.api.context import STATE
from hub.api.errors import HTTP_EXCEPTION_CODES, ApiError, database_failure, error_response

log = structlog.get_logger(__name__)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def route_template(request: web.Request) -> str:
    """The matched route's template, or a fixed label (never the raw, unbounded path)."""
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return "<unmatched>"
    return resource.canonical


@web.middleware
async def observe(request: web.Request, handler: _Handler) -> web.StreamResponse:
    supplied = request.headers.get("X-Request-Id", "")
    request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
    started = time.perf_counter()
    status = 500
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            response = await handler(request)
            status = response.status
            response.headers["X-Request-Id"] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(request)
            request.app[STATE].metrics.observe_request(route, request.method, status, elapsed)
            log.info(
                "api_request",
                method=request.method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
            )


@web.middleware
async def errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    limit = request.app[STATE].runtime.settings.api.max_body_bytes
    try:
        length = request.content_length
        if length is not None and length > limit:
            raise ApiError(
                413, "payload_too_large", f"the request body is over the {limit}-byte limit"
            )
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        return _http_exception(exc, limit)
    except Exception as exc:  # isolation boundary: no traceback or data reaches the client
        unavailable = database_failure(exc)
        if unavailable is not None:
            log.warning(
                "api_database_unavailable",
                route=route_template(request),
                code=unavailable.code,
                error_type=type(exc).__name__,
            )
            return unavailable.response()
        frames = traceback.extract_tb(exc.__traceback__)[-5:]
        log.error(
            "api_unhandled_error",
            route=route_template(request),
            error_type=type(exc).__name__,
            where=[f"{f.filename}:{f.lineno} in {f.name}" for f in frames],
        )
        return error_response(500, "internal_error", "unexpected error; see the hub's log")


def _http_exception(exc: web.HTTPException, limit: int) -> web.StreamResponse:
    if exc.status < 400:
        raise exc  # redirects and the like pass through untouched
    code, message = HTTP_EXCEPTION_CODES.get(exc.status, ("http_error", exc.reason))
    headers: dict[str, str] = {}
    if exc.status == 405:
        allow = exc.headers.get("Allow")
        if allow:
            headers["Allow"] = allow
            message = f"{message}; allowed: {allow}"
    if exc.status == 413:
        message = f"the request body is over the {limit}-byte limit"
    return error_response(exc.status, code, message, headers=headers)
