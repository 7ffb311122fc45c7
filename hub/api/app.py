"""The aiohttp application: the /v1 API, webhooks, health, readiness, metrics and OpenAPI.

Every endpoint is declared once in `hub.api.routes.ROUTES`; this module wires that table, the
middlewares and the app-owned resources (one outbound `aiohttp.ClientSession`, opened on startup
and closed on cleanup through `cleanup_ctx`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

import hub
from hub.api.context import STATE, ApiState
from hub.api.metrics import HubMetrics
from hub.api.middleware import errors, observe
from hub.api.openapi import build_openapi
from hub.api.routes import ROUTES
from hub.api.routing import add_routes
from hub.ingest import RulesRunner
from hub.runtime import HubRuntime

RUNTIME: web.AppKey[HubRuntime] = web.AppKey("runtime", HubRuntime)
METRICS: web.AppKey[HubMetrics] = web.AppKey("metrics", HubMetrics)

#: Outbound calls made while handling a request (webhook adapters) must not hang it.
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    runtime: HubRuntime,
    hub_metrics: HubMetrics | None = None,
    *,
    rules: RulesRunner | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> web.Application:
    """The API application.

    `hub_metrics` defaults to metrics on the runtime's registry, where the engine's metrics
    are registered too, so `/metrics` renders both. `rules` runs for marks posted or pushed
    (`ingest_marks`); `clock` replaces the wall clock (tests).
    """
    metrics = hub_metrics or HubMetrics(registry=runtime.metrics_registry)
    metrics.info.labels(version=hub.__version__).set(1)
    # client_max_size caps bodies read without a Content-Length (chunked) too.
    app = web.Application(
        client_max_size=runtime.settings.api.max_body_bytes, middlewares=[observe, errors]
    )
    state = ApiState(runtime=runtime, metrics=metrics, rules=rules, clock=clock or _utc_now)
    state.openapi = build_openapi(ROUTES)
    app[STATE] = state
    app[RUNTIME] = runtime
    app[METRICS] = metrics
    add_routes(app, ROUTES)
    app.cleanup_ctx.append(_http_client)
    return app


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    async with aiohttp.ClientSession(
        timeout=CLIENT_TIMEOUT, connector=aiohttp.TCPConnector(limit=20)
    ) as session:
        state.http = session
        yield
        state.http = None
        state.adapters.clear()
