"""Per-connection state an operator sees (`GET /v1/connections`, `hub sync --once`).

Last success, last error and whether the connection is failing are kept in the database, so
every process (`hub run` workers, a one-off `hub sync --once`) reports the same state. They
live in the sync-cursor table under the reserved stream name ``_health`` as a JSON document,
which needs no migration; no adapter stream starts with an underscore.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from hub.engine.destinations import connection_kind
from hub.plugins import PluginHost
from hub.sdk import AdapterError, AuthError, ConfigError
from hub.settings import HubSettings
from hub.store import CursorRepository

__all__ = [
    "HEALTH_STREAM",
    "ConnectionHealth",
    "connection_states",
    "describe_error",
    "load_health",
    "record_failure",
    "record_success",
]

HEALTH_STREAM = "_health"
#: The longest error message kept; messages of SDK errors carry no pupil data by contract.
MAX_ERROR_CHARS = 500

Status = Literal["ok", "retrying", "failing", "never_run"]


@dataclass(frozen=True)
class ConnectionHealth:
    status: Status = "never_run"
    last_success_at: dt.datetime | None = None
    last_error_at: dt.datetime | None = None
    last_error: str | None = None
    error_class: str | None = None
    consecutive_failures: int = 0

    def as_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "last_success_at": _iso(self.last_success_at),
                "last_error_at": _iso(self.last_error_at),
                "last_error": self.last_error,
                "error_class": self.error_class,
                "consecutive_failures": self.consecutive_failures,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> ConnectionHealth:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            status=data.get("status", "never_run"),
            last_success_at=_parse(data.get("last_success_at")),
            last_error_at=_parse(data.get("last_error_at")),
            last_error=data.get("last_error"),
            error_class=data.get("error_class"),
            consecutive_failures=int(data.get("consecutive_failures", 0)),
        )


def describe_error(error: BaseException) -> str:
    """`Class: message` for an SDK error; only the class for anything else, whose message
    nobody vetted for pupil data or secrets."""
    name = type(error).__name__
    if isinstance(error, AdapterError):
        text = f"{name}: {error}"
    else:
        text = f"{name} (unexpected error in plugin or hub; see the process log)"
    return text[:MAX_ERROR_CHARS]


def failing_error(error: BaseException) -> bool:
    """Errors an operator must fix (credentials, configuration) mark a connection failing;
    the others (transient) only mark it retrying."""
    return isinstance(error, AuthError | ConfigError) or not isinstance(error, AdapterError)


async def load_health(session: AsyncSession, connection: str) -> ConnectionHealth:
    return ConnectionHealth.from_json(
        await CursorRepository(session).get(connection, HEALTH_STREAM)
    )


async def record_success(session: AsyncSession, connection: str, *, now: dt.datetime) -> None:
    previous = await load_health(session, connection)
    health = ConnectionHealth(
        status="ok",
        last_success_at=now,
        last_error_at=previous.last_error_at,
        last_error=previous.last_error,
        error_class=previous.error_class,
        consecutive_failures=0,
    )
    await CursorRepository(session).set(connection, HEALTH_STREAM, health.as_json(), now=now)


async def record_failure(
    session: AsyncSession,
    connection: str,
    error: BaseException,
    *,
    now: dt.datetime,
    failing: bool | None = None,
) -> ConnectionHealth:
    """Record a failed pass or delivery; returns the new state (with the failure count)."""
    previous = await load_health(session, connection)
    is_failing = failing_error(error) if failing is None else failing
    health = ConnectionHealth(
        status="failing" if is_failing else "retrying",
        last_success_at=previous.last_success_at,
        last_error_at=now,
        last_error=describe_error(error),
        error_class=type(error).__name__,
        consecutive_failures=previous.consecutive_failures + 1,
    )
    await CursorRepository(session).set(connection, HEALTH_STREAM, health.as_json(), now=now)
    return health


async def connection_states(
    session: AsyncSession,
    settings: HubSettings | None = None,
    *,
    plugins: PluginHost | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The state of every connection, for `GET /v1/connections`.

    One entry per configured connection (and per connection that has stored state but is no
    longer configured, with ``"configured": false``)::

        {"name", "plugin", "kind" (adapter|notifier|unknown|null), "enabled", "configured",
         "status" (ok|retrying|failing|never_run), "last_success_at", "last_error_at",
         "last_error", "error_class", "consecutive_failures",
         "lag_seconds" (since the last successful sync pass, null before the first),
         "streams": [{"stream", "cursor", "updated_at"}]}

    Datetimes are ISO 8601 strings in UTC.
    """
    now = now or dt.datetime.now(dt.UTC)
    stored = await CursorRepository(session).states()
    health: dict[str, ConnectionHealth] = {}
    streams: dict[str, list[dict[str, Any]]] = {}
    for state in stored:
        if state.stream == HEALTH_STREAM:
            health[state.connection] = ConnectionHealth.from_json(state.cursor)
        else:
            streams.setdefault(state.connection, []).append(
                {
                    "stream": state.stream,
                    "cursor": state.cursor,
                    "updated_at": _iso(state.updated_at),
                }
            )
    configured = {c.name: c for c in (settings.connections if settings is not None else [])}
    names = list(configured) + sorted((set(health) | set(streams)) - set(configured))
    out: list[dict[str, Any]] = []
    for name in names:
        conn = configured.get(name)
        h = health.get(name, ConnectionHealth())
        kind: str | None = None
        if conn is not None and plugins is not None:
            kind = connection_kind(plugins, conn)
        lag = None
        if h.last_success_at is not None:
            lag = max(0.0, (now - h.last_success_at).total_seconds())
        out.append(
            {
                "name": name,
                "plugin": None if conn is None else conn.plugin,
                "kind": kind,
                "enabled": None if conn is None else conn.enabled,
                "configured": conn is not None,
                "status": h.status,
                "last_success_at": _iso(h.last_success_at),
                "last_error_at": _iso(h.last_error_at),
                "last_error": h.last_error,
                "error_class": h.error_class,
                "consecutive_failures": h.consecutive_failures,
                "lag_seconds": lag,
                "streams": streams.get(name, []),
            }
        )
    return out


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _parse(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)
