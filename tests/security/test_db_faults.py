"""Database faults (issue 10, item 2): the hub says so clearly, corrupts nothing, and recovers.

- PostgreSQL stopped and restarted mid-run (a dedicated server, `hub.testing.postgres`):
  `/readyz` reports not ready while it is down; requests fail fast with a 503
  `database_unavailable` JSON body (no hang, no 500); the outbox dispatcher keeps retrying; after
  the restart the same app and dispatcher carry on without being restarted, and every mark that
  was acknowledged is stored.
- SQLite: a database locked by another connection's write transaction makes a write wait
  `busy_timeout` and then answer 503 `database_busy`; a full database (`PRAGMA max_page_count`,
  a full disk without filling one) answers 503 `database_full`, the failed batch leaves no
  trace, and `PRAGMA integrity_check` is `ok` throughout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from hub.engine.destinations import Destinations
from hub.engine.dispatcher import Dispatcher
from hub.engine.routing import enqueue_notification
from hub.plugins import PluginHost
from hub.settings import HubSettings
from hub.store import create_engine, upgrade
from hub.store.models import CurrentMarkRow
from hub.testing.postgres import (
    SUPERUSER,
    PostgresServer,
    running_postgres,
    unavailable_reason,
)
from hub_contracts import Notification, NotificationKind
from tests.api.conftest import MONDAY, NOW, SCHOOL_A, UPN_A, WEBHOOK_SECRET, Api, mark_body

from .conftest import PUSH_SECRET_ENV, SQLITE_ONLY, RecordingNotifier, hub_settings, running_api

#: No request may take longer than this, whatever the database is doing.
REQUEST_BOUND = 10.0


def _mark(n: int, **extra: Any) -> dict[str, Any]:
    """A distinct register cell per `n` (a day and a session after the world's Monday)."""
    day = MONDAY + dt.timedelta(days=n // 2)
    return mark_body(UPN_A, SCHOOL_A.id, day=day, session="AM" if n % 2 == 0 else "PM", **extra)


async def _bounded(request: Any) -> ClientResponse:
    async with asyncio.timeout(REQUEST_BOUND):
        response: ClientResponse = await request
        await response.read()
        return response


async def _stored_cells(api: Api) -> set[tuple[str, str]]:
    async with api.session() as session:
        rows = await session.execute(select(CurrentMarkRow.date, CurrentMarkRow.session))
    return {(str(d), str(s)) for d, s in rows}


def _cell(mark: dict[str, Any]) -> tuple[str, str]:
    return (mark["date"], mark["session"])


# --- PostgreSQL stopped and restarted ---------------------------------------------------------


@pytest.fixture
def dedicated_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own, since the test stops it (the session's server is shared)."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but PostgreSQL cannot be started: {reason}", pytrace=False)
        pytest.skip(f"PostgreSQL not available: {reason}")
    with running_postgres() as server:
        yield server


def _pg_ctl(server: PostgresServer, *args: str) -> None:
    command = [str(server.bindir / "pg_ctl"), "-D", str(server.data_dir), *args]
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root (as hub.testing.postgres does)
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60, cwd="/")


async def _stop(server: PostgresServer) -> None:
    await asyncio.to_thread(_pg_ctl, server, "-m", "fast", "-w", "stop")


async def _start(server: PostgresServer) -> None:
    # The same port and socket directory as hub.testing.postgres chose at the first start.
    options = (
        f"-c listen_addresses={server.host} -p {server.port} "
        f"-c unix_socket_directories={server.data_dir.parent} -c fsync=off"
    )
    log = str(server.data_dir.parent / "restart.log")
    await asyncio.to_thread(_pg_ctl, server, "-l", log, "-o", options, "-w", "start")


async def _eventually(condition: Callable[[], Awaitable[bool]], *, within: float) -> None:
    async with asyncio.timeout(within):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.05)


async def _ready(api: Api) -> bool:
    return (await _bounded(api.client.get("/readyz"))).status == 200


async def _delivered() -> bool:
    return bool(RecordingNotifier.sent)


@pytest.mark.postgres
async def test_postgres_stopped_and_restarted_mid_run(
    dedicated_postgres: PostgresServer, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dedicated_postgres
    url = server.create_database("hub_faults")
    await upgrade(url)
    monkeypatch.setenv(PUSH_SECRET_ENV, WEBHOOK_SECRET)
    settings = hub_settings(
        url,
        connections=[{"name": "la-feed", "plugin": "recorder"}],
        routes=[{"kind": "cme_referral", "connections": ["la-feed"]}],
    ).model_copy(
        update={
            "outbox": HubSettings().outbox.model_copy(
                update={
                    "poll_interval_seconds": 0.05,
                    "backoff_initial_seconds": 0.05,
                    "backoff_max_seconds": 0.2,
                }
            )
        }
    )
    async with running_api(settings, plugin_host) as api:
        await api.seed()
        headers = await api.as_("admin")
        acked: list[dict[str, Any]] = []
        for n in range(4):
            mark = _mark(n)
            resp = await _bounded(
                api.client.post("/v1/marks", json={"marks": [mark]}, headers=headers)
            )
            assert resp.status == 200
            acked.append(mark)
        # A notification waits in the outbox for a dispatcher that starts during the outage.
        async with api.session() as session, session.begin():
            await enqueue_notification(
                session,
                settings,
                Notification(
                    id="ntf-outage",
                    kind=NotificationKind.CME_REFERRAL,
                    upn=UPN_A,
                    recipient="la:999:cme",
                    created_at=NOW,
                    payload={"setting_id": SCHOOL_A.id},
                ),
                la_code="999",
                now=NOW,
            )

        await _stop(server)

        ready = await _bounded(api.client.get("/readyz"))
        assert ready.status == 503
        assert (await ready.json())["status"] == "not_ready"
        for method, path, body in (
            ("POST", "/v1/marks", {"marks": [_mark(99)]}),
            ("GET", f"/v1/learners/{UPN_A}/marks", None),
            ("GET", "/v1/discrepancies", None),
        ):
            started = time.monotonic()
            resp = await _bounded(api.client.request(method, path, json=body, headers=headers))
            assert resp.status == 503, (path, await resp.text())
            error = (await resp.json())["error"]
            assert error["code"] == "database_unavailable"
            assert resp.headers["Retry-After"].isdigit()
            assert time.monotonic() - started < 5.0, "a database outage must fail fast"

        stop = asyncio.Event()
        destinations = Destinations(settings, plugin_host)
        dispatcher = Dispatcher(
            settings=settings,
            sessions=api.runtime.sessions,
            destinations=destinations,
            owner="fault-test",
        )
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(dispatcher.run(stop))
            await asyncio.sleep(0.5)  # a few failed passes while the database is down
            assert RecordingNotifier.sent == []

            await _start(server)
            await _eventually(lambda: _ready(api), within=15)
            for n in range(4, 8):
                mark = _mark(n)
                resp = await _bounded(
                    api.client.post("/v1/marks", json={"marks": [mark]}, headers=headers)
                )
                assert resp.status == 200, await resp.text()
                acked.append(mark)
            await _eventually(_delivered, within=15)
            stop.set()
        await destinations.close()

        assert {_cell(m) for m in acked} <= await _stored_cells(api), (
            "an acknowledged mark was lost"
        )
        assert [n.id for n, _ in RecordingNotifier.sent] == ["ntf-outage"]


# --- SQLite: locked, and full ------------------------------------------------------------------


def _sqlite_path(database_url: str) -> str:
    path = make_url(database_url).database
    assert path
    return path


def _integrity(path: str) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@asynccontextmanager
async def _api_with_engine(
    database_url: str,
    plugin_host: PluginHost,
    *,
    busy_timeout_ms: int,
    max_pages: int | None = None,
) -> AsyncIterator[Api]:
    engine = create_engine(database_url, sqlite_busy_timeout_ms=busy_timeout_ms)
    if max_pages is not None:

        def cap(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA max_page_count={int(max_pages)}")
            cursor.close()

        event.listen(engine.sync_engine, "connect", cap)
    async with running_api(hub_settings(database_url), plugin_host, engine=engine) as api:
        yield api


@SQLITE_ONLY
async def test_sqlite_locked_by_another_writer(
    database_url: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PUSH_SECRET_ENV, WEBHOOK_SECRET)
    path = _sqlite_path(database_url)
    async with _api_with_engine(database_url, plugin_host, busy_timeout_ms=400) as api:
        await api.seed()
        headers = await api.as_("admin")
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # holds the write lock
            started = time.monotonic()
            resp = await _bounded(
                api.client.post("/v1/marks", json={"marks": [_mark(0)]}, headers=headers)
            )
            waited = time.monotonic() - started
            assert resp.status == 503, await resp.text()
            assert (await resp.json())["error"]["code"] == "database_busy"
            assert resp.headers["Retry-After"].isdigit()
            assert waited >= 0.3, "busy_timeout must apply before giving up"

            # Released within busy_timeout: the writer waits and succeeds.
            async def release_soon() -> None:
                await asyncio.sleep(0.1)
                blocker.execute("ROLLBACK")

            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(release_soon())
                resp = await _bounded(
                    api.client.post("/v1/marks", json={"marks": [_mark(1)]}, headers=headers)
                )
            assert resp.status == 200
            assert (await resp.json())["accepted"] == 1
        finally:
            blocker.close()
        assert await _stored_cells(api) == {_cell(_mark(1))}
    assert _integrity(path) == "ok"


@SQLITE_ONLY
async def test_sqlite_full_database(
    database_url: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PUSH_SECRET_ENV, WEBHOOK_SECRET)
    path = _sqlite_path(database_url)
    async with _api_with_engine(database_url, plugin_host, busy_timeout_ms=1000) as api:
        await api.seed()
        headers = await api.as_("admin")  # tokens minted before the database fills up
        async with api.session() as session:
            pages = int((await session.execute(text("PRAGMA page_count"))).scalar_one())

    acked: list[dict[str, Any]] = []
    full: list[dict[str, Any]] = []
    async with _api_with_engine(
        database_url, plugin_host, busy_timeout_ms=1000, max_pages=pages + 3
    ) as api:
        for batch in range(40):
            marks = [_mark(batch * 20 + i, source_ref="r" * 200) for i in range(20)]
            resp = await _bounded(
                api.client.post("/v1/marks", json={"marks": marks}, headers=headers)
            )
            if resp.status == 200:
                assert (await resp.json())["accepted"] == len(marks)
                acked.extend(marks)
                continue
            assert resp.status == 503, await resp.text()
            assert (await resp.json())["error"]["code"] == "database_full"
            full = marks
            break
        assert full, "the capped database never filled up"
        assert _integrity(path) == "ok"
        stored = await _stored_cells(api)
        assert {_cell(m) for m in acked} <= stored, "an acknowledged mark was lost"
        assert not {_cell(m) for m in full} & stored, "a refused batch was half-written"

    # Space again (the cap is gone): the same batch goes in, and the file is sound.
    async with _api_with_engine(database_url, plugin_host, busy_timeout_ms=1000) as api:
        resp = await _bounded(api.client.post("/v1/marks", json={"marks": full}, headers=headers))
        assert resp.status == 200
        assert (await resp.json())["accepted"] == len(full)
    assert _integrity(path) == "ok"
