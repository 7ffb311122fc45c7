"""Open endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

from collections import Counter

import structlog
from aiohttp import web

import hub
from hub.api.context import ApiState, Call
from hub.api.routing import json_reply
from hub.api.schemas import HealthReply, ReadyReply
from hub.store import DiscrepancyRepository, NotificationRepository
from hub_contracts import DiscrepancyStatus

log = structlog.get_logger(__name__)


async def healthz(call: Call) -> web.StreamResponse:
    """Liveness: the process is up and serving."""
    return json_reply(HealthReply(status="ok", version=hub.__version__))


async def readyz(call: Call) -> web.StreamResponse:
    """Readiness: database reachable and migrated."""
    readiness = await call.state.runtime.readiness()
    call.state.metrics.ready.set(1 if readiness.ready else 0)
    if readiness.ready:
        return web.json_response(ReadyReply(status="ready").model_dump(exclude_none=True))
    return json_reply(ReadyReply(status="not_ready", reason=readiness.reason), status=503)


async def metrics(call: Call) -> web.StreamResponse:
    await refresh_store_gauges(call.state)
    body = call.state.metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


async def refresh_store_gauges(state: ApiState) -> None:
    """Open discrepancies by kind and overdue notifications (and the engine's gauges), read
    from the store now.

    A scrape must answer even when the database does not: the gauges then keep their last
    values and the failure is logged (and `hub_ready` tells the rest).
    """
    now = state.now()
    try:
        async with state.session() as session:
            open_ = await DiscrepancyRepository(session).find(status=DiscrepancyStatus.OPEN)
            overdue = await NotificationRepository(session).overdue(now=now)
    except Exception as exc:  # isolation boundary: metrics never fail a scrape
        log.warning("metrics_store_refresh_failed", error_type=type(exc).__name__)
    else:
        state.metrics.set_store_gauges(
            Counter(d.kind for d in open_), Counter(n.kind for n in overdue)
        )
    engine_metrics = state.runtime.engine_metrics
    if engine_metrics.registry is not state.metrics.registry:
        return  # rendered elsewhere, refreshed by its owner
    try:
        async with state.session() as session:
            await engine_metrics.refresh(session, now=now)
    except Exception as exc:  # isolation boundary: metrics never fail a scrape
        log.warning("metrics_engine_refresh_failed", error_type=type(exc).__name__)


async def openapi(call: Call) -> web.StreamResponse:
    return web.json_response(call.state.openapi)
