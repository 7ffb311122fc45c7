"""Migrations create exactly the schema the models describe, on every backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store import create_engine, current_revision, head_revision, pending, upgrade
from hub.store.models import Base


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_from_empty_reaches_head(blank_database_url: str) -> None:
    assert await current_revision(blank_database_url) is None
    assert await pending(blank_database_url)

    await upgrade(blank_database_url)
    await upgrade(blank_database_url)  # already at head: a no-op

    assert await current_revision(blank_database_url) == head_revision()
    assert not await pending(blank_database_url)


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diffs = await conn.run_sync(_diffs)
    assert diffs == []


async def test_every_model_table_exists_after_migration(blank_database_url: str) -> None:
    await upgrade(blank_database_url)
    engine = create_engine(blank_database_url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    finally:
        await engine.dispose()
    assert names == {*Base.metadata.tables, "alembic_version"}
