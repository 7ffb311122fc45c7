"""The aiohttp application: health, readiness and metrics (the /v1 API grows here)."""

from __future__ import annotations

from aiohttp import web

import hub
from hub.api.metrics import HubMetrics
from hub.runtime import HubRuntime

RUNTIME: web.AppKey[HubRuntime] = web.AppKey("runtime", HubRuntime)
METRICS: web.AppKey[HubMetrics] = web.AppKey("metrics", HubMetrics)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process is up and serving. Needs no token."""
    return web.json_response({"status": "ok", "version": hub.__version__})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: database reachable and migrated. Needs no token."""
    readiness = await request.app[RUNTIME].readiness()
    request.app[METRICS].ready.set(1 if readiness.ready else 0)
    if readiness.ready:
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "not_ready", "reason": readiness.reason}, status=503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


def create_app(runtime: HubRuntime, hub_metrics: HubMetrics | None = None) -> web.Application:
    app = web.Application(client_max_size=runtime.settings.api.max_body_bytes)
    app[RUNTIME] = runtime
    app[METRICS] = hub_metrics or HubMetrics()
    app[METRICS].info.labels(version=hub.__version__).set(1)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app
