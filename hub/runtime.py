"""The running hub: settings, database engine, plugin host — opened once, closed once."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

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
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings, engine=engine, sessions=session_factory(engine), plugins=plugins
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
