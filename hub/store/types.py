"""Column types shared by every table: aware UTC timestamps, portable JSON, portable big ids."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every backend.

    PostgreSQL keeps ``timestamptz``. SQLite has no time zone type, so the value is stored as
    naive UTC text (lexically ordered, so ``<``/``>`` comparisons in SQL stay correct) and
    given back its UTC zone on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; the store keeps aware UTC")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: JSON documents: JSONB on PostgreSQL (comparable, indexable), JSON text elsewhere.
Json: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")

#: 64-bit surrogate keys; SQLite only auto-increments an ``INTEGER PRIMARY KEY`` (the rowid).
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
