"""Alembic environment: runs on the caller's connection, or opens an async engine itself.

``hub.store.migrate`` passes a live connection in ``config.attributes["connection"]`` so the
hub needs no ``alembic.ini``. Run without one (the ``alembic`` CLI with ``sqlalchemy.url`` set),
it opens the URL with the hub's own engine settings.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from hub.store.db import create_engine
from hub.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table (plain ALTER elsewhere).
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        run_on(given)
    else:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
        asyncio.run(_run_with_own_engine(url))
