"""Shared fixtures: a real database per test, on SQLite and on PostgreSQL.

A test that asks for ``database_url`` (or ``engine`` / ``session``) runs once per backend, in
the style of SQLAlchemy's dialect suite. SQLite: each test gets a copy of a database file
migrated once. PostgreSQL: one throwaway server per test session (``hub.testing.postgres``)
with one database migrated once, whose tables are emptied before each test. Without
PostgreSQL binaries those runs are skipped, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.store.db import create_engine, session_factory
from hub.store.migrate import upgrade
from hub.store.models import Base
from hub.testing.postgres import PostgresServer, running_postgres, unavailable_reason

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _run_async(coro: Coroutine[Any, Any, None]) -> None:
    # Session fixtures are synchronous; run their async set-up on a private loop in a worker
    # thread so it never touches the loop pytest-asyncio gives each test.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but PostgreSQL cannot be started: {reason}", pytrace=False)
        pytest.skip(f"PostgreSQL not available: {reason}")
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def _postgres_database(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database("hub_test")
    _run_async(upgrade(url))
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "hub.db"
    # Disposing the engine checkpoints the WAL into the file, so a plain copy is complete.
    _run_async(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


def _empty_tables(server: PostgresServer, database: str) -> None:
    # Emptying the tables takes ~15 ms; copying a template database takes ~350 ms here.
    deletes = " ".join(f"DELETE FROM {t.name};" for t in reversed(Base.metadata.sorted_tables))
    server.psql(f"BEGIN; {deletes} COMMIT;", database)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database migrated to head, on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "hub.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("_postgres_database")
    _empty_tables(request.getfixturevalue("postgres_server"), make_url(url).database or "")
    return url


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database that was never migrated, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'blank.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"blank_{uuid.uuid4().hex[:12]}"
    yield server.create_database(name)
    server.drop_database(name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """For tests that need several sessions (concurrency) or to commit between steps."""
    return session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
