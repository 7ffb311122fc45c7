"""Engine metrics on a Prometheus registry the API renders at ``/metrics``.

    metrics = register_engine_metrics(registry)   # once per registry (HubRuntime does it)
    metrics.deliveries.labels(connection="la", kind="notification", outcome="delivered").inc()
    await metrics.refresh(session, now=now)       # gauges read from the database

Counters are updated by the dispatcher and the sync engine as they work. Gauges (outbox depth
and age, sync lag) describe the database, shared by every worker; they are refreshed by the
scheduler every few seconds, and the API may also call `refresh` just before rendering.
Overdue statutory notifications are the API's `hub_notifications_overdue` (hub.api.metrics),
refreshed on scrape; the names here never collide with the API's, so both live on one registry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.engine.health import HEALTH_STREAM, ConnectionHealth
from hub.store import CursorRepository, OutboxStatus
from hub.store.models import OutboxRow

__all__ = ["DELIVERY_OUTCOMES", "EngineMetrics", "register_engine_metrics"]

#: `outcome` label values of `hub_outbox_deliveries_total`.
DELIVERY_OUTCOMES = ("delivered", "retry", "dead", "lease_lost")


@dataclass
class EngineMetrics:
    registry: CollectorRegistry
    deliveries: Counter = field(init=False)
    write_back_records: Counter = field(init=False)
    outbox_depth: Gauge = field(init=False)
    outbox_oldest_age: Gauge = field(init=False)
    sync_pages: Counter = field(init=False)
    sync_records: Counter = field(init=False)
    sync_failures: Counter = field(init=False)
    sync_lag: Gauge = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.deliveries = Counter(
            "hub_outbox_deliveries",
            "Outbox delivery attempts by connection, row kind and outcome "
            "(delivered, retry, dead, lease_lost)",
            ["connection", "kind", "outcome"],
            registry=r,
        )
        self.write_back_records = Counter(
            "hub_write_back_records",
            "Marks written back to connected systems, by outcome (accepted, rejected)",
            ["connection", "outcome"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "hub_outbox_depth", "Outbox rows by status (pending, dead)", ["status"], registry=r
        )
        self.outbox_oldest_age = Gauge(
            "hub_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox row (0 when none)",
            registry=r,
        )
        self.sync_pages = Counter(
            "hub_sync_pages",
            "Pages committed by the sync engine",
            ["connection", "stream"],
            registry=r,
        )
        self.sync_records = Counter(
            "hub_sync_records",
            "Records read by the sync engine, by outcome (accepted, rejected)",
            ["connection", "stream", "outcome"],
            registry=r,
        )
        self.sync_failures = Counter(
            "hub_sync_failures",
            "Failed sync passes by connection and error class",
            ["connection", "error"],
            registry=r,
        )
        self.sync_lag = Gauge(
            "hub_sync_lag_seconds",
            "Seconds since the connection's last successful sync pass",
            ["connection"],
            registry=r,
        )

    async def refresh(self, session: AsyncSession, *, now: dt.datetime) -> None:
        """Set the gauges from the database (read-only; any session will do)."""
        o = OutboxRow.__table__.c
        grouped = await session.execute(select(o.status, func.count()).group_by(o.status))
        counts: dict[str, int] = {status: int(n) for status, n in grouped.tuples()}
        for status in (OutboxStatus.PENDING, OutboxStatus.DEAD):
            self.outbox_depth.labels(status=status.value).set(counts.get(status.value, 0))
        oldest = (
            await session.execute(
                select(func.min(o.created_at)).where(o.status == OutboxStatus.PENDING.value)
            )
        ).scalar_one_or_none()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        self.outbox_oldest_age.set(
            0 if oldest is None else max(0.0, (now - oldest).total_seconds())
        )

        for state in await CursorRepository(session).states():
            if state.stream != HEALTH_STREAM:
                continue
            health = ConnectionHealth.from_json(state.cursor)
            if health.last_success_at is not None:
                lag = max(0.0, (now - health.last_success_at).total_seconds())
                self.sync_lag.labels(connection=state.connection).set(lag)


def register_engine_metrics(registry: CollectorRegistry) -> EngineMetrics:
    """Create the engine's metrics on `registry` (call once per registry)."""
    return EngineMetrics(registry)
