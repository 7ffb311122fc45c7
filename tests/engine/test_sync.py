"""The sync engine with a small in-test adapter, on SQLite and PostgreSQL.

The adapter pages through in-memory synthetic records (3 a page, cursor = offset) and can be
told to fail on a given read; it is registered through a real PluginHost hook.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.engine.health import connection_states
from hub.engine.metrics import register_engine_metrics
from hub.sdk import (
    Adapter,
    AdapterConfig,
    AdapterManifest,
    AuthError,
    Capability,
    Page,
    RateLimited,
    TransientError,
)
from hub.store import CursorRepository, MarkRepository, QuarantineRepository, SettingRepository
from hub.store.models import MarkRow
from hub_contracts import AttendanceMark, Learner, Registration

Sessions = async_sessionmaker[AsyncSession]
DAY = dt.date(2025, 1, 6)
PAGE = 3


class PagedConfig(AdapterConfig):
    pass


class PagedAdapter(Adapter[PagedConfig]):
    manifest = AdapterManifest(
        name="paged",
        display_name="Synthetic paged MIS",
        capabilities=frozenset(
            {Capability.READ_LEARNERS, Capability.READ_ROLL, Capability.READ_MARKS}
        ),
        config_model=PagedConfig,
    )
    learners: ClassVar[list[Learner]] = []
    roll: ClassVar[list[Registration]] = []
    marks: ClassVar[list[AttendanceMark]] = []
    #: (stream, n-th read of that stream) -> the error that read raises.
    failures: ClassVar[dict[tuple[str, int], BaseException]] = {}
    reads: ClassVar[list[tuple[str, str | None]]] = []

    async def check(self) -> None:
        return None

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        return self._page("learners", self.learners, cursor)

    async def read_roll(self, cursor: str | None) -> Page[Registration]:
        return self._page("roll", self.roll, cursor)

    async def read_marks(self, cursor: str | None) -> Page[AttendanceMark]:
        return self._page("marks", self.marks, cursor)

    def _page(self, stream: str, records: Sequence[Any], cursor: str | None) -> Page[Any]:
        self.reads.append((stream, cursor))
        n = sum(1 for s, _ in self.reads if s == stream)
        error = self.failures.get((stream, n))
        if error is not None:
            raise error
        start = int(cursor or 0)
        end = min(start + PAGE, len(records))
        return Page(records[start:end], next_cursor=str(end), has_more=end < len(records))


@pytest.fixture
def vendor(kit: Any) -> type[PagedAdapter]:
    """Ten learners on roll at the synthetic school, each with one AM mark."""
    PagedAdapter.learners = [kit.learner(n) for n in range(1, 11)]
    PagedAdapter.roll = [kit.registration(n) for n in range(1, 11)]
    PagedAdapter.marks = [
        AttendanceMark(
            upn=kit.upn(n),
            setting_id=kit.SETTING_ID,
            date=DAY,
            session="AM",
            code="/",
            source="paged",
            recorded_at=kit.T0,
        )  # type: ignore[arg-type]
        for n in range(1, 11)
    ]
    PagedAdapter.failures = {}
    PagedAdapter.reads = []
    return PagedAdapter


@pytest.fixture
async def engine_for(database_url: str, sessions: Sessions, kit: Any, plugins_with: Any) -> Any:
    async with sessions.begin() as session:
        await SettingRepository(session).upsert(kit.setting())
    made: list[Any] = []

    def build(**kwargs: Any) -> Any:
        settings = kit.settings(
            database_url,
            connections=[{"name": "school-a", "plugin": "paged"}],
            **kwargs.pop("settings", {}),
        )
        destinations = kit.destinations(settings, plugins_with(PagedAdapter))
        engine = kit.sync_engine(settings, sessions, destinations, **kwargs)
        made.append(destinations)
        return engine

    yield build
    for destinations in made:
        await destinations.close()


async def _marks_stored(sessions: Sessions) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(MarkRow))).scalar_one())


async def _cursor(sessions: Sessions, stream: str) -> str | None:
    async with sessions() as session:
        return await CursorRepository(session).get("school-a", stream)


async def test_a_pass_commits_every_page_with_its_cursor(
    sessions: Sessions, vendor: Any, engine_for: Any
) -> None:
    metrics = register_engine_metrics(CollectorRegistry())
    report = await engine_for(metrics=metrics).sync_connection("school-a")

    assert report.status == "ok", report
    assert [(s.stream, s.pages, s.accepted, s.rejected, s.complete) for s in report.streams] == [
        ("learners", 4, 10, 0, True),
        ("roll", 4, 10, 0, True),
        ("marks", 4, 10, 0, True),
    ]
    assert report.lines()[2] == "school-a marks: 4 page(s), 10 accepted, 0 rejected, 10 changed"
    assert await _marks_stored(sessions) == 10
    assert [await _cursor(sessions, s) for s in ("learners", "roll", "marks")] == ["10"] * 3
    sample = metrics.registry.get_sample_value
    assert sample("hub_sync_pages_total", {"connection": "school-a", "stream": "marks"}) == 4


async def test_a_crash_mid_pass_keeps_committed_pages_and_a_rerun_applies_each_record_once(
    sessions: Sessions, vendor: Any, engine_for: Any
) -> None:
    vendor.failures[("marks", 3)] = RuntimeError("synthetic crash while reading page 3")
    engine = engine_for()

    failed = await engine.sync_connection("school-a")

    assert failed.failed and failed.error_class == "RuntimeError"
    assert (failed.streams[-1].stream, failed.streams[-1].pages) == ("marks", 2)
    assert await _cursor(sessions, "marks") == "6"
    assert await _marks_stored(sessions) == 6

    done = await engine.sync_connection("school-a")

    assert done.status == "ok"
    assert [c for s, c in vendor.reads if s == "marks"] == [None, "3", "6", "6", "9"]
    assert await _marks_stored(sessions) == 10, "every mark stored exactly once"
    async with sessions() as session:
        repo = MarkRepository(session)
        for mark in vendor.marks:
            current = await repo.current_for_learner(mark.upn, DAY, DAY)
            assert [m.code for m in current] == ["/"]


class FailingRules:
    """Rules that fail on their n-th run, inside the page transaction."""

    def __init__(self, fail_on: int) -> None:
        self.fail_on = fail_on
        self.runs = 0

    async def after_marks(self, session: AsyncSession, changed: Sequence[Any], *, now: Any) -> None:
        self.runs += 1
        if self.runs == self.fail_on:
            raise RuntimeError("synthetic failure inside the page transaction")


async def test_a_failure_inside_a_page_transaction_rolls_back_its_records_and_cursor(
    sessions: Sessions, vendor: Any, engine_for: Any
) -> None:
    rules = FailingRules(fail_on=2)
    engine = engine_for(rules=rules)

    assert (await engine.sync_connection("school-a")).failed
    assert await _cursor(sessions, "marks") == "3"
    assert await _marks_stored(sessions) == 3, "page 2's marks rolled back with its cursor"

    assert (await engine.sync_connection("school-a")).status == "ok"
    assert await _marks_stored(sessions) == 10
    assert rules.runs == 5  # 4 pages + the failed attempt


async def test_another_workers_lease_means_this_worker_reads_nothing(
    sessions: Sessions, vendor: Any, engine_for: Any, kit: Any
) -> None:
    async with sessions.begin() as session:
        assert await CursorRepository(session).acquire_lease(
            "school-a", "worker-b", lease_seconds=600, now=dt.datetime.now(dt.UTC)
        )

    report = await engine_for().sync_connection("school-a")

    assert report.status == "busy" and not vendor.reads
    assert report.lines() == ["school-a: another worker holds the sync lease"]
    async with sessions() as session:
        lease = await CursorRepository(session).lease("school-a")
    assert lease is not None and lease.owner == "worker-b"


async def test_the_lease_is_released_after_a_pass(
    sessions: Sessions, vendor: Any, engine_for: Any
) -> None:
    await engine_for().sync_connection("school-a")
    async with sessions() as session:
        assert await CursorRepository(session).lease("school-a") is None


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(AuthError("synthetic: credentials rejected"), "failing", id="auth"),
        pytest.param(TransientError("synthetic: HTTP 503"), "retrying", id="transient"),
        pytest.param(RateLimited(30), "retrying", id="rate-limited"),
    ],
)
async def test_errors_set_the_connection_state_and_a_success_clears_it(
    sessions: Sessions, vendor: Any, engine_for: Any, error: Exception, status: str
) -> None:
    vendor.failures[("learners", 1)] = error
    engine = engine_for()

    report = await engine.sync_connection("school-a")

    assert report.failed and report.error_class == type(error).__name__
    assert report.lines()[-1] == f"school-a: FAILED ({type(error).__name__}): {error}"
    async with sessions() as session:
        (state,) = await connection_states(session, engine.settings)
    assert (state["status"], state["error_class"], state["consecutive_failures"]) == (
        status,
        type(error).__name__,
        1,
    )
    assert state["last_success_at"] is None and state["lag_seconds"] is None

    assert (await engine.sync_connection("school-a")).status == "ok"
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    async with sessions() as session:
        (state,) = await connection_states(session, engine.settings, now=now)
    assert state["status"] == "ok" and state["consecutive_failures"] == 0
    assert 0 < state["lag_seconds"] <= 120
    assert {s["stream"]: s["cursor"] for s in state["streams"]} == {
        "learners": "10",
        "marks": "10",
        "roll": "10",
    }


async def test_rejected_marks_are_counted_and_quarantined(
    sessions: Sessions, vendor: Any, engine_for: Any, kit: Any
) -> None:
    vendor.marks.append(vendor.marks[0].model_copy(update={"upn": kit.upn(99)}))

    report = await engine_for().sync_connection("school-a")

    marks = report.streams[-1]
    assert (marks.accepted, marks.rejected) == (10, 1)
    async with sessions() as session:
        assert await QuarantineRepository(session).count(source="sync:school-a") == 1


async def test_a_pass_reads_at_most_max_pages_per_stream(
    sessions: Sessions, vendor: Any, engine_for: Any
) -> None:
    engine = engine_for(settings={"sync": {"max_pages_per_pass": 2}})

    report = await engine.sync_connection("school-a")

    assert [(s.pages, s.complete) for s in report.streams] == [(2, False)] * 3
    assert "(more to read next pass)" in report.lines()[0]
    assert await _cursor(sessions, "marks") == "6"


async def test_unknown_plugins_fail_and_notifier_connections_are_not_synced(
    database_url: str, sessions: Sessions, kit: Any, plugins_with: Any
) -> None:
    settings = kit.settings(
        database_url,
        webhook_url="http://127.0.0.1:9/hook",
        connections=[{"name": "mystery", "plugin": "nope"}],
    )
    destinations = kit.destinations(settings, plugins_with())
    engine = kit.sync_engine(settings, sessions, destinations)

    reports = {r.connection: r for r in await engine.sync_once()}
    await destinations.close()

    assert reports["la-hook"].status == "not_synced"
    assert reports["mystery"].failed and reports["mystery"].error_class == "ConfigError"
    assert "no adapter or notifier plugin named 'nope'" in (reports["mystery"].error or "")


async def test_the_connection_loop_retries_with_backoff_and_stops(
    sessions: Sessions, vendor: Any, engine_for: Any, kit: Any
) -> None:
    vendor.failures[("learners", 1)] = TransientError("synthetic: HTTP 503")
    engine = engine_for(settings={"outbox": {"backoff_initial_seconds": 0.01}})
    stop = asyncio.Event()

    async with asyncio.timeout(30):
        async with asyncio.TaskGroup() as tg:
            tg.create_task(engine.run_connection("school-a", stop))

            async def all_marks() -> bool:
                return await _marks_stored(sessions) == 10

            await kit.eventually(all_marks, "the loop synced every mark", within=30)
            stop.set()

    assert [s for s, _ in vendor.reads].count("learners") >= 5  # failed read, then 4 pages
