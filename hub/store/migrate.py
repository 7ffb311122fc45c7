"""Apply and inspect schema migrations without an ``alembic.ini`` (``hub db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url

from .db import create_engine, normalise_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (and the URL, for the CLI)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        url = normalise_url(database_url).render_as_string(hide_password=False)
        # ConfigParser interpolation: a literal % must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to ``revision``; creates a SQLite file's directory if missing."""
    _ensure_sqlite_directory(database_url)
    config = alembic_config()
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, config, revision)
    finally:
        await engine.dispose()


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at; ``None`` for a database never migrated."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()


async def pending(database_url: str) -> bool:
    """True when the database is behind the packaged head revision."""
    return await current_revision(database_url) != head_revision()


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
