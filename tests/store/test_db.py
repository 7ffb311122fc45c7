"""Engine set-up: URL normalisation, SQLite pragmas, aware UTC timestamps on every backend."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.store import QuarantineRepository, create_engine, is_sqlite, normalise_url
from hub.store.db import UnsupportedDatabaseError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///hub.db", "sqlite+aiosqlite:///hub.db"),
        ("sqlite+aiosqlite:////var/lib/hub/hub.db", "sqlite+aiosqlite:////var/lib/hub/hub.db"),
        ("postgresql://hub@db/hub", "postgresql+asyncpg://hub@db/hub"),
        ("postgres://hub@db:5433/hub", "postgresql+asyncpg://hub@db:5433/hub"),
        ("postgresql+psycopg2://hub@db/hub", "postgresql+asyncpg://hub@db/hub"),
        ("postgresql+asyncpg://hub@db/hub", "postgresql+asyncpg://hub@db/hub"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == expected


def test_unsupported_database_is_named() -> None:
    with pytest.raises(UnsupportedDatabaseError, match="mysql"):
        normalise_url("mysql://hub@db/hub")
    assert is_sqlite("sqlite:///x.db") and not is_sqlite("postgresql://h/db")


async def test_sqlite_connections_get_wal_and_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await engine.dispose()
    # synchronous: 1 is NORMAL.
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,
    }


async def test_the_runtime_gives_sqlite_the_configured_page_cache(tmp_path: Path) -> None:
    """`sqlite_cache_mb` (default 64) reaches every connection; SQLite's own default is ~2 MB."""
    from hub.runtime import HubRuntime
    from hub.settings import HubSettings

    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    for settings, expected in (
        (HubSettings(database_url=url), -64 * 1024),
        (HubSettings(database_url=url, sqlite_cache_mb=256), -256 * 1024),
    ):
        runtime = await HubRuntime.open(settings)
        try:
            async with runtime.engine.connect() as conn:
                size = (await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one()
        finally:
            await runtime.close()
        assert size == expected


async def test_timestamps_come_back_aware_utc(session: AsyncSession) -> None:
    quarantine = QuarantineRepository(session)
    plus_one = dt.timezone(dt.timedelta(hours=1))
    sent = dt.datetime(2025, 6, 1, 10, 30, 0, 250000, tzinfo=plus_one)

    await quarantine.add("x", reason="r", raw_payload="{}", received_at=sent)
    (stored,) = await quarantine.list()

    assert stored.received_at == sent
    assert stored.received_at.utcoffset() == dt.timedelta(0)
    assert stored.received_at.hour == 9


async def test_naive_timestamps_are_refused(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await QuarantineRepository(session).add(
            "x", reason="r", raw_payload="{}", received_at=dt.datetime(2025, 6, 1, 10, 30)
        )


async def test_engine_reaches_the_database(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
