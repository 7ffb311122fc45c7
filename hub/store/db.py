"""Engines and sessions: SQLite (WAL) for one process, PostgreSQL (asyncpg) at LA scale."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 5_000

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}
_SUPPORTED = {"sqlite+aiosqlite", "postgresql+asyncpg"}


class UnsupportedDatabaseError(ValueError):
    """The URL names a database or driver the hub does not run on."""


def normalise_url(database_url: str | URL) -> URL:
    """Map a plain URL onto the async driver: ``sqlite:///x`` → ``sqlite+aiosqlite:///x``."""
    url = make_url(database_url)
    url = url.set(drivername=_ASYNC_DRIVERS.get(url.drivername, url.drivername))
    if url.drivername not in _SUPPORTED:
        raise UnsupportedDatabaseError(
            f"database_url: driver {url.drivername!r} is not supported; "
            "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
        )
    return url


def is_sqlite(database_url: str | URL) -> bool:
    return make_url(database_url).get_backend_name() == "sqlite"


def create_engine(
    database_url: str | URL,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int = 10,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    sqlite_cache_mb: int | None = None,
) -> AsyncEngine:
    """One engine per process. SQLite gets its pragmas on every new connection, including a
    page cache of `sqlite_cache_mb` (``None``: SQLite's own default, about 2 MB)."""
    url = normalise_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo)
        _configure_sqlite(engine, sqlite_busy_timeout_ms, sqlite_cache_mb)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1_800,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no implicit lazy reloads)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int, cache_mb: int | None) -> None:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module (it defers BEGIN to the first
        # write, which breaks savepoints and read-then-write consistency); see on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            # In WAL mode NORMAL loses no committed data on a crash, only on power loss.
            cursor.execute("PRAGMA synchronous=NORMAL")
            if cache_mb is not None:
                # Negative: a size in KiB rather than in pages. A year of an LA's marks is
                # gigabytes; with the default 2 MB nearly every index lookup misses the cache.
                cursor.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a transaction that reads and then writes
        # waits (busy_timeout) instead of failing with SQLITE_BUSY when it upgrades its lock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)
