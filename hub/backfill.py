"""`hub backfill --from DATE`: read a school year of marks from every connection that reads them.

A backfill is a sync of the marks stream over a date range the caller chooses, through the same
machinery as `hub run` and `hub sync` (`hub.engine.sync.SyncEngine`): the adapter is asked for
one page at a time with the cursor it returned last; each page, its rule outcomes and the new
cursor commit in ONE transaction, under the connection's sync lease. So:

- the adapter does the vendor's splitting (SIMS: 90-day attendance queries, 1,000 records a
  page); the hub only passes the dates (the adapter's ``attendance_from`` / ``attendance_to``);
- it is resumable: the cursor lives in its own stream, ``marks-backfill:<from>:<to>``, so an
  interrupted backfill (Ctrl-C, a crash, a vendor outage) carries on from its last committed
  page when run again with the same dates, and never disturbs the regular sync's cursor;
- memory stays bounded: one page is held at a time, whatever the size of the year;
- a connection being synced by a `hub run` worker is not read twice: the backfill waits for
  nothing and reports it busy (one lease holder per connection).

Marks go through the one ingest path, rules included, exactly as the first sync of a new
connection would: findings for past sessions are recorded (and notifications raised) as they
would have been had the hub been running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import resource
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from hub.engine import worker_id
from hub.engine.destinations import Destinations
from hub.engine.health import describe_error

# The sync engine's own page loop and its "someone else has this connection" signals: a
# backfill commits pages exactly as a sync does, so it reuses them rather than a copy.
from hub.engine.sync import StreamReport, SyncEngine, SyncStream, _CursorMoved, _LeaseLost
from hub.runtime import HubRuntime
from hub.sdk import Adapter, Capability, Page
from hub.settings import ConfigError, ConnectionSettings, HubSettings
from hub.store import is_sqlite
from hub_contracts import AttendanceMark

__all__ = [
    "BackfillReport",
    "backfill_connections",
    "backfill_stream",
    "default_end",
    "exit_code",
    "peak_rss_bytes",
    "run_backfill",
]

log = structlog.get_logger(__name__)

#: Connections read at once on PostgreSQL: one's vendor round trip overlaps another's page
#: commit, and reading an LA's schools together keeps a dual-registered pupil's two registers
#: close in time. SQLite has one writer (every transaction takes the write lock), so there the
#: connections are read one after another.
PARALLEL = 4

#: The adapter options a connection must have to be backfilled from a date (SIMS has them).
DATE_OPTIONS = ("attendance_from", "attendance_to")


def default_end(start: dt.date, today: dt.date) -> dt.date:
    """The last day of `start`'s school year (31 August), or today if that is earlier."""
    year = start.year if start.month >= 9 else start.year - 1
    return min(dt.date(year + 1, 8, 31), today)


def backfill_stream(start: dt.date, end: dt.date) -> SyncStream:
    """The stream whose cursor a backfill of these dates keeps (separate from ``marks``)."""
    return SyncStream(
        f"marks-backfill:{start.isoformat()}:{end.isoformat()}",
        Capability.READ_MARKS,
        "read_marks",
        None,
    )


def peak_rss_bytes() -> int:
    """This process's peak resident set size (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


@dataclass
class BackfillReport:
    connection: str
    status: str  # complete | interrupted | busy | failed
    pages: int = 0
    accepted: int = 0
    rejected: int = 0
    changed: int = 0
    seconds: float = 0.0
    error: str | None = None
    #: The latest mark date read so far (progress through the range).
    reached: dt.date | None = None

    @property
    def marks_per_second(self) -> float:
        return (self.accepted + self.rejected) / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        rate = f"{self.marks_per_second:,.0f} marks/s"
        text = (
            f"{self.connection}: {self.status}: {self.pages:,} page(s), {self.accepted:,} "
            f"accepted, {self.rejected:,} rejected, {self.changed:,} changed in "
            f"{self.seconds:,.1f}s ({rate})"
        )
        if self.status == "interrupted":
            text += "; run the same command again to resume"
        if self.error:
            text += f": {self.error}"
        return text


def backfill_connections(
    settings: HubSettings, adapters: Mapping[str, type[Adapter[Any]]], name: str | None
) -> list[ConnectionSettings]:
    """The enabled connections that read marks and take a date range; `name` picks one (and it
    is an error if it cannot be backfilled)."""
    chosen = [settings.connection(name)] if name is not None else settings.connections
    found = []
    for conn in chosen:
        adapter = adapters.get(conn.plugin)
        reason = None
        if not conn.enabled:
            reason = "the connection is disabled"
        elif adapter is None:
            reason = f"{conn.plugin!r} is not an adapter plugin"
        elif Capability.READ_MARKS not in adapter.manifest.capabilities:
            reason = f"the {conn.plugin} adapter does not read marks"
        elif not all(o in adapter.manifest.config_model.model_fields for o in DATE_OPTIONS):
            reason = f"the {conn.plugin} adapter takes no attendance_from / attendance_to dates"
        if reason is None:
            found.append(conn)
        elif name is not None:
            raise ConfigError("--connection", f"{name}: cannot be backfilled: {reason}")
    return found


def _dated(conn: ConnectionSettings, start: dt.date, end: dt.date) -> ConnectionSettings:
    options = conn.model_dump()
    options.update(attendance_from=start.isoformat(), attendance_to=end.isoformat())
    return ConnectionSettings.model_validate(options)


class _Prefetching:
    """The adapter as `SyncEngine` sees it, reading ahead: as soon as a page is handed over, the
    next one (at its ``next_cursor``) is requested, so the vendor's round trip overlaps the
    hub's commit of the page in hand. A read is side-effect free, so a page read ahead is
    simply dropped if the engine asks for another cursor (after a failed commit, say); at most
    two pages are held. `seen` is told of each page handed over (the progress bar)."""

    def __init__(self, adapter: Adapter[Any], seen: Callable[[Page[AttendanceMark]], None]) -> None:
        self._adapter = adapter
        self._seen = seen
        self._ahead: tuple[str | None, asyncio.Task[Page[AttendanceMark]]] | None = None
        self.connection_name = adapter.connection_name

    async def read_marks(self, cursor: str | None) -> Page[AttendanceMark]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == cursor:
            page = await ahead[1]
        else:
            if ahead is not None:
                await self._drop(ahead[1])
            page = await self._adapter.read_marks(cursor)
        if page.has_more:
            task = asyncio.ensure_future(self._adapter.read_marks(page.next_cursor))
            self._ahead = (page.next_cursor, task)
        self._seen(page)
        return page

    async def close(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            await self._drop(ahead[1])

    @staticmethod
    async def _drop(task: asyncio.Task[Page[AttendanceMark]]) -> None:
        task.cancel()
        # Whatever it ended with (a page, an error, the cancellation), nobody wants it now.
        await asyncio.gather(task, return_exceptions=True)


async def _backfill_one(
    engine: SyncEngine,
    adapter: Adapter[Any],
    stream: SyncStream,
    start: dt.date,
    end: dt.date,
    stop: asyncio.Event,
    progress: Progress,
    task: TaskID,
) -> BackfillReport:
    name = adapter.connection_name
    report = BackfillReport(name, "interrupted")
    pages = StreamReport(stream.name)
    span = max(1, (end - start).days)

    def seen(page: Page[AttendanceMark]) -> None:
        dates = [m.date for m in page.records if isinstance(m, AttendanceMark)]
        if dates:
            report.reached = max(report.reached or start, max(dates))

    reader = _Prefetching(adapter, seen)
    watched: Any = reader
    bound = log.bind(connection=name, worker=engine.owner, stream=stream.name)
    began = time.perf_counter()
    try:
        while not stop.is_set():
            # One page per call (max_pages_per_pass = 1): the page, its rules and its cursor
            # commit together, then the progress bar moves.
            await engine._sync_stream(watched, stream, pages, stop, bound)
            report.pages, report.accepted = pages.pages, pages.accepted
            report.rejected, report.changed = pages.rejected, pages.changed
            done = (report.reached - start).days if report.reached else 0
            progress.update(
                task,
                completed=span if pages.complete else min(done, span),
                description=f"{name}: {pages.accepted + pages.rejected:,} marks",
            )
            if pages.complete:
                report.status = "complete"
                break
    except (_LeaseLost, _CursorMoved) as exc:
        report.status, report.error = "busy", "another worker holds the connection's sync lease"
        bound.warning("backfill_stopped", status=report.status, error_class=type(exc).__name__)
    except Exception as exc:  # isolation boundary: one connection's failure stops only it
        # An adapter's error says what the vendor said; anything else only its class (its
        # message was never vetted for pupil data).
        report.status, report.error = "failed", describe_error(exc)
        bound.warning("backfill_stopped", status=report.status, error_class=type(exc).__name__)
    finally:
        report.seconds = time.perf_counter() - began
        await reader.close()
        await engine._release_lease(name)
    bound.info(
        "backfill_connection_done",
        status=report.status,
        pages=report.pages,
        accepted=report.accepted,
        rejected=report.rejected,
    )
    return report


async def run_backfill(
    settings: HubSettings,
    *,
    start: dt.date,
    end: dt.date | None = None,
    connection: str | None = None,
    echo: Callable[[str], None] = print,
    console: Console | None = None,
    stop: asyncio.Event | None = None,
    runtime: HubRuntime | None = None,
    parallel: int | None = None,
) -> list[BackfillReport]:
    """Backfill marks from `start` to `end` (default: the end of that school year, or today)
    from every connection that can (or just `connection`). Prints one line per connection and
    the peak RSS; SIGINT / SIGTERM stop after the pages in hand are committed."""
    end = end or default_end(start, dt.datetime.now(dt.UTC).date())
    if end < start:
        raise ConfigError("--to", f"{end} is before --from {start}")
    own_runtime = runtime is None
    runtime = runtime or await HubRuntime.open(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread: the caller stops us
            pass
    reports: list[BackfillReport] = []
    try:
        chosen = backfill_connections(settings, runtime.plugins.adapters, connection)
        if not chosen:
            echo("no enabled connection reads marks with a date range: nothing to backfill")
            return []
        dated = [_dated(c, start, end) for c in chosen]
        names = {c.name for c in dated}
        one_page = settings.sync.model_copy(update={"max_pages_per_pass": 1})
        scoped = settings.model_copy(
            update={
                "connections": [
                    next((d for d in dated if d.name == c.name), c) for c in settings.connections
                ],
                "sync": one_page,
            }
        )
        destinations = Destinations(scoped, runtime.plugins)
        engine = SyncEngine(
            settings=scoped,
            sessions=runtime.sessions,
            destinations=destinations,
            owner=worker_id(settings),
            rules=runtime.rules,
            metrics=runtime.engine_metrics,
        )
        stream = backfill_stream(start, end)
        log.info("backfill_starting", connections=sorted(names), stream=stream.name)
        span = max(1, (end - start).days)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}% of the dates"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        if parallel is None:
            parallel = 1 if is_sqlite(settings.database_url) else PARALLEL
        limit = asyncio.Semaphore(max(1, parallel))

        async def one(conn: ConnectionSettings, task: TaskID) -> BackfillReport:
            async with limit:
                if stop.is_set():
                    return BackfillReport(conn.name, "interrupted")
                adapter = destinations.adapter(conn.name)
                return await _backfill_one(
                    engine, adapter, stream, start, end, stop, progress, task
                )

        try:
            with progress:
                async with asyncio.TaskGroup() as tg:
                    tasks = [
                        tg.create_task(one(conn, progress.add_task(conn.name, total=span)))
                        for conn in dated
                    ]
            reports.extend(t.result() for t in tasks)
        finally:
            await destinations.close()
        for report in reports:
            echo(report.line())
        echo(f"peak RSS {peak_rss_bytes() / 2**20:,.0f} MB")
        return reports
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        if own_runtime:
            await runtime.close()


def exit_code(reports: Sequence[BackfillReport]) -> int:
    """0 when every connection finished; 1 when any was interrupted, busy or failed."""
    return 0 if all(r.status == "complete" for r in reports) else 1
