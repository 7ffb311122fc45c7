"""Small helpers the repositories share: dialect-specific upserts, batching, clock checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Base

T = TypeVar("T")

Insert = postgresql.Insert | sqlite.Insert


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def upsert(session: AsyncSession, table: Table) -> Insert:
    """An INSERT that supports ``on_conflict_do_*`` on both PostgreSQL and SQLite."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def table(name: str) -> Table:
    """The Core table behind a model, for statements that should not build ORM objects."""
    return Base.metadata.tables[name]


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def aware(value: dt.datetime, name: str = "now") -> dt.datetime:
    """Refuse naive datetimes at the boundary: the store keeps aware UTC only."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(dt.UTC)
