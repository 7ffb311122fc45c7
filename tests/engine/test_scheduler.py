"""`run_hub` in-process: API, dispatcher and sync loops in one task group; metrics; stop."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from typing import Any

import aiohttp
import pytest
import structlog
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.engine.health import connection_states, record_failure, record_success
from hub.engine.metrics import register_engine_metrics
from hub.engine.routing import enqueue_notification, notification_key
from hub.engine.scheduler import _refresh_metrics, run_hub
from hub.runtime import HubRuntime
from hub.sdk import Adapter, AdapterConfig, AdapterManifest, Capability, Page, TransientError
from hub.service import ListenError
from hub.store import CursorRepository, OutboxRepository, OutboxStatus, SettingRepository
from hub_contracts import AttendanceMark

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def paged(kit: Any) -> Any:
    """An adapter with two learners on roll and a mark each, in one page per stream."""

    class TinyConfig(AdapterConfig):
        pass

    class TinyMis(Adapter[TinyConfig]):
        manifest = AdapterManifest(
            name="tiny-mis",
            display_name="Synthetic tiny MIS",
            capabilities=frozenset(
                {Capability.READ_LEARNERS, Capability.READ_ROLL, Capability.READ_MARKS}
            ),
            config_model=TinyConfig,
        )

        async def check(self) -> None:
            return None

        async def read_learners(self, cursor: str | None) -> Page[Any]:
            return Page([kit.learner(1), kit.learner(2)], next_cursor="done")

        async def read_roll(self, cursor: str | None) -> Page[Any]:
            return Page([kit.registration(1), kit.registration(2)], next_cursor="done")

        async def read_marks(self, cursor: str | None) -> Page[Any]:
            marks = [
                AttendanceMark(
                    upn=kit.upn(n),
                    setting_id=kit.SETTING_ID,
                    date=dt.date(2025, 1, 6),
                    session="PM",
                    code="/",
                    source="tiny",
                    recorded_at=kit.T0,
                )  # type: ignore[arg-type]
                for n in (1, 2)
            ]
            return Page(marks, next_cursor="done")

    return TinyMis


async def test_run_hub_serves_syncs_delivers_and_stops(
    database_url: str,
    engine: AsyncEngine,
    sessions: Sessions,
    receiver: Any,
    kit: Any,
    plugins_with: Any,
    paged: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in kit.ENVIRON.items():
        monkeypatch.setenv(key, value)
    settings = kit.settings(
        database_url,
        webhook_url=receiver.url,
        connections=[{"name": "school-a", "plugin": "tiny-mis", "poll_interval_seconds": 3600}],
        api={"host": "127.0.0.1", "port": 0},
        outbox={"poll_interval_seconds": 3600},  # only the wake-up event gets it going
    )
    async with sessions.begin() as session:
        await SettingRepository(session).upsert(kit.setting())
    runtime = HubRuntime(
        settings=settings, engine=engine, sessions=sessions, plugins=plugins_with(paged)
    )
    stop = asyncio.Event()
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def on_started(url: str) -> None:
        started.set_result(url)

    async def synced() -> bool:
        async with sessions() as session:
            return await CursorRepository(session).get("school-a", "marks") == "done"

    notification = kit.notification(1)
    async with asyncio.timeout(60):
        async with asyncio.TaskGroup() as tg:
            tg.create_task(run_hub(runtime, stop=stop, on_started=on_started))
            url = await started
            await kit.eventually(synced, "the connection synced", within=30)
            async with sessions.begin() as session:
                await enqueue_notification(
                    session, settings, notification, la_code="999", now=kit.T0
                )
            runtime.outbox_wakeup.set()
            await receiver.arrived.wait()
            async with sessions() as session:
                await runtime.engine_metrics.refresh(session, now=dt.datetime.now(dt.UTC))
            async with aiohttp.ClientSession() as client, client.get(f"{url}/metrics") as resp:
                metrics = await resp.text()
            stop.set()

    assert receiver.applied_per_notification[notification.id] == 1
    assert 'hub_sync_pages_total{connection="school-a",stream="marks"} 1.0' in metrics
    assert 'hub_sync_lag_seconds{connection="school-a"}' in metrics
    assert "hub_outbox_depth" in metrics and "hub_build_info" in metrics
    async with sessions() as session:
        item = await OutboxRepository(session).get_by_key(
            notification_key(notification.id, "la-hook")
        )
        assert await CursorRepository(session).lease("school-a") is None
    assert item is not None and item.status is OutboxStatus.DELIVERED


async def test_run_hub_raises_listen_error_and_stops_everything(
    database_url: str, engine: AsyncEngine, sessions: Sessions, kit: Any, plugins_with: Any
) -> None:
    with socket_in_use() as port:
        settings = kit.settings(database_url, api={"host": "127.0.0.1", "port": port})
        runtime = HubRuntime(
            settings=settings, engine=engine, sessions=sessions, plugins=plugins_with()
        )
        async with asyncio.timeout(30):
            with pytest.raises(ListenError):
                await run_hub(runtime)


class socket_in_use:
    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


async def test_metrics_refresh_reads_depth_age_and_lag_from_the_database(
    sessions: Sessions, kit: Any
) -> None:
    metrics = register_engine_metrics(CollectorRegistry())
    now = kit.T0 + dt.timedelta(minutes=10)
    async with sessions.begin() as session:
        outbox = OutboxRepository(session)
        await outbox.enqueue("notification", {}, "k1", now=kit.T0, connection="x")
        await outbox.enqueue("notification", {}, "k2", now=kit.T0 + dt.timedelta(minutes=5))
        (claimed,) = await outbox.claim_due("w", limit=1, lease_seconds=60, now=now)
        await outbox.to_dead_letter(claimed.id, "w", reason="synthetic", now=now)
        await record_success(session, "school-a", now=kit.T0)
        await record_failure(session, "school-a", TransientError("x"), now=now)

    async with sessions() as session:
        await metrics.refresh(session, now=now)

    sample = metrics.registry.get_sample_value
    assert sample("hub_outbox_depth", {"status": "pending"}) == 1
    assert sample("hub_outbox_depth", {"status": "dead"}) == 1
    assert sample("hub_outbox_oldest_pending_age_seconds") == 300
    assert sample("hub_sync_lag_seconds", {"connection": "school-a"}) == 600


async def test_overdue_statutory_notifications_raise_an_alert(
    database_url: str, engine: AsyncEngine, sessions: Sessions, kit: Any, plugins_with: Any
) -> None:
    settings = kit.settings(database_url)
    runtime = HubRuntime(
        settings=settings, engine=engine, sessions=sessions, plugins=plugins_with()
    )
    async with sessions.begin() as session:  # due 2025-01-20, never routed: overdue now
        await enqueue_notification(
            session, settings, kit.notification(1), la_code="999", now=kit.T0
        )
    stop = asyncio.Event()

    with structlog.testing.capture_logs() as logs:

        async def alerted() -> bool:
            return any(e["event"] == "notifications_overdue" for e in logs)

        async with asyncio.timeout(30), asyncio.TaskGroup() as tg:
            tg.create_task(_refresh_metrics(runtime, stop))
            await kit.eventually(alerted, "the overdue alert was logged", within=20)
            stop.set()

    (alert,) = [e for e in logs if e["event"] == "notifications_overdue"]
    assert alert["by_kind"] == {"deletion_return": 1} and alert["log_level"] == "warning"


async def test_a_connection_with_bad_config_is_reported_at_start_and_the_hub_runs_on(
    database_url: str,
    engine: AsyncEngine,
    sessions: Sessions,
    kit: Any,
    plugins_with: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HUB_TEST_WEBHOOK_SECRET", raising=False)
    settings = kit.settings(
        database_url, webhook_url="http://127.0.0.1:9/hook", api={"host": "127.0.0.1", "port": 0}
    )
    runtime = HubRuntime(
        settings=settings, engine=engine, sessions=sessions, plugins=plugins_with()
    )
    stop = asyncio.Event()

    async def on_started(url: str) -> None:
        stop.set()

    with structlog.testing.capture_logs() as logs:
        async with asyncio.timeout(30):
            await run_hub(runtime, stop=stop, on_started=on_started)

    (event,) = [e for e in logs if e["event"] == "connection_config_invalid"]
    assert "HUB_TEST_WEBHOOK_SECRET is not set" in event["error"]
    async with sessions() as session:
        (state,) = await connection_states(session, settings)
    assert (state["name"], state["status"], state["error_class"]) == (
        "la-hook",
        "failing",
        "ConfigError",
    )
