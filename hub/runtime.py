"""The running hub: settings, database engine, plugin host — opened once, closed once.

It also carries what the API and the engine share in one process: the Prometheus registry
(with the engine's metrics on it), the event that wakes the outbox dispatcher, and the rules
runner the sync engine passes to ingest.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.engine.metrics import EngineMetrics, register_engine_metrics
from hub.ingest import RulesRunner
from hub.plugins import PluginHost
from hub.settings import HubSettings
from hub.store import migrate
from hub.store.db import create_engine, session_factory

log = structlog.get_logger(__name__)


@dataclass
class Readiness:
    ready: bool
    reason: str | None = None


@dataclass
class HubRuntime:
    settings: HubSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    plugins: PluginHost
    #: One registry per hub: the API's metrics and the engine's (`engine_metrics`) render
    #: together at /metrics.
    metrics_registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    engine_metrics: EngineMetrics = field(init=False)
    #: Set it after enqueuing outbox rows to have the dispatcher deliver them at once.
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    #: Rules run on changed marks during sync and ingest (None: store marks only).
    rules: RulesRunner | None = None

    def __post_init__(self) -> None:
        self.engine_metrics = register_engine_metrics(self.metrics_registry)

    @classmethod
    async def open(cls, settings: HubSettings, *, migrate_now: bool | None = None) -> HubRuntime:
        """Load plugins, connect, and apply migrations when `auto_migrate` is on."""
        plugins = PluginHost()
        plugins.load(allow=settings.plugins.allow, block=settings.plugins.block)
        for refused in plugins.refused:
            log.warning("plugin_refused", plugin=refused.name, reason=refused.reason)
        if settings.auto_migrate if migrate_now is None else migrate_now:
            await migrate.upgrade(settings.database_url)
            log.info("database_migrated", revision="head")
        engine = create_engine(settings.database_url, sqlite_cache_mb=settings.sqlite_cache_mb)
        # Imported here: the rules import the store and the engine's routing, which import
        # this module's neighbours; the runtime is their composition root.
        from hub.notifications import OutboxSink
        from hub.rules_runner import HubRules

        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            plugins=plugins,
            rules=HubRules(settings, OutboxSink(settings, plugins)),
        )

    async def readiness(self) -> Readiness:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            if await migrate.pending(self.settings.database_url):
                return Readiness(False, "database migrations pending: run `hub db upgrade`")
        except Exception as exc:  # isolation boundary: readiness reports, never raises
            return Readiness(False, f"database unreachable: {type(exc).__name__}")
        return Readiness(True)

    async def close(self) -> None:
        await self.engine.dispose()
