"""The sync engine: read every stream of every adapter connection, one committed page at a time.

Per connection and stream a cursor (`CursorRepository`). Each page read from an adapter is
committed in ONE transaction with the records it carries (through the one ingest path,
`hub.ingest`, which skips unchanged records, quarantines invalid ones and runs the rules, whose
notifications are enqueued in the same transaction) and the advanced cursor. The adapter is
called outside any transaction, so no database lock is held during vendor I/O. A crash between
pages loses nothing and applies nothing twice: the cursor only moves with its page, and the
page transaction checks that the stored cursor is still the one the page was read from.

Only the holder of a connection's sync lease (`CursorRepository.acquire_lease`, renewed in
every page transaction) syncs it, so several `hub run` processes on one PostgreSQL share the
connections instead of syncing one twice. Errors are classified: transient ones are retried on
the next pass with backoff; auth and configuration errors mark the connection failing, with
the reason, for `GET /v1/connections` (`hub.engine.health.connection_states`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.engine.backoff import Backoff
from hub.engine.clock import Abandoned, finish_or_abandon, pause, utcnow
from hub.engine.destinations import Destinations
from hub.engine.health import describe_error, record_failure, record_success
from hub.engine.metrics import EngineMetrics
from hub.ingest import RulesRunner, ingest_marks, ingest_reference
from hub.sdk import Adapter, Capability, ConfigError, ContractViolation, Page, RateLimited
from hub.settings import HubSettings
from hub.store import CursorRepository
from hub_contracts import EotasPlacement, Learner, Registration

__all__ = [
    "STREAMS",
    "ConnectionReport",
    "StreamReport",
    "SyncEngine",
    "SyncStream",
]

log = structlog.get_logger(__name__)

#: How long a pass in progress may go on after shutdown starts (a page read, say).
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class SyncStream:
    name: str
    capability: Capability
    method: str
    #: The contract type of reference records; None for marks (validated by ingest_marks).
    record_type: type[Learner] | type[Registration] | type[EotasPlacement] | None


#: In dependency order: marks are accepted only for learners on a roll or placement.
STREAMS: tuple[SyncStream, ...] = (
    SyncStream("learners", Capability.READ_LEARNERS, "read_learners", Learner),
    SyncStream("roll", Capability.READ_ROLL, "read_roll", Registration),
    SyncStream("placements", Capability.READ_PLACEMENTS, "read_placements", EotasPlacement),
    SyncStream("marks", Capability.READ_MARKS, "read_marks", None),
)

Status = Literal["ok", "failed", "busy", "not_synced"]


@dataclass
class StreamReport:
    stream: str
    pages: int = 0
    accepted: int = 0
    rejected: int = 0
    changed: int = 0
    #: True when the stream's last page (`has_more=False`) was committed in this pass.
    complete: bool = False

    def line(self, connection: str) -> str:
        tail = "" if self.complete else " (more to read next pass)"
        return (
            f"{connection} {self.stream}: {self.pages} page(s), {self.accepted} accepted, "
            f"{self.rejected} rejected, {self.changed} changed{tail}"
        )


@dataclass
class ConnectionReport:
    connection: str
    status: Status
    streams: list[StreamReport] = field(default_factory=list)
    error: str | None = None
    error_class: str | None = None
    #: The exception behind a failure, for the retry delay (never shown: `error` is).
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    note: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def lines(self) -> list[str]:
        """One line per stream read from, then a line for a failure or anything else to say."""
        out = [s.line(self.connection) for s in self.streams if s.pages or s.complete]
        if self.status == "failed":
            out.append(f"{self.connection}: FAILED ({self.error_class}): {self.error}")
        elif self.note:
            out.append(f"{self.connection}: {self.note}")
        return out


class _LeaseLost(Exception):
    """Another worker holds the connection's lease now; stop without committing."""


class _CursorMoved(Exception):
    """The stored cursor is not the one this page was read from; stop without committing."""


class SyncEngine:
    """Syncs adapter connections for one worker (`owner`, its name in leases)."""

    def __init__(
        self,
        *,
        settings: HubSettings,
        sessions: async_sessionmaker[AsyncSession],
        destinations: Destinations,
        owner: str,
        rules: RulesRunner | None = None,
        metrics: EngineMetrics | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.destinations = destinations
        self.owner = owner
        self.rules = rules
        self.metrics = metrics
        self.clock = clock

    # -- passes -------------------------------------------------------------------------------

    async def sync_once(self, *, stop: asyncio.Event | None = None) -> list[ConnectionReport]:
        """One pass of every enabled connection, in configuration order."""
        reports = []
        for conn in self.settings.connections:
            if stop is not None and stop.is_set():
                break
            if conn.enabled:
                reports.append(await self.sync_connection(conn.name, stop=stop))
        return reports

    async def sync_connection(
        self, name: str, *, stop: asyncio.Event | None = None
    ) -> ConnectionReport:
        """One pass over every stream the connection's adapter can read."""
        bound = log.bind(connection=name, worker=self.owner)
        try:
            kind = self.destinations.kind(name)
            if kind == "notifier":
                return ConnectionReport(name, "not_synced", note="notifier connection, not synced")
            adapter = self.destinations.adapter(name)
        except ConfigError as exc:
            return await self._failed(name, [], exc, bound)
        capabilities = type(adapter).manifest.capabilities
        streams = [s for s in STREAMS if s.capability in capabilities]
        if not streams:
            return ConnectionReport(name, "not_synced", note="adapter reads nothing, not synced")

        async with self.sessions.begin() as session:
            leased = await self._renew_lease(session, name)
        if not leased:
            bound.info("sync_lease_busy")
            return ConnectionReport(name, "busy", note="another worker holds the sync lease")
        reports: list[StreamReport] = []
        try:
            for stream in streams:
                if stop is not None and stop.is_set():
                    break
                report = StreamReport(stream.name)
                reports.append(report)
                await self._sync_stream(adapter, stream, report, stop, bound)
        except (_LeaseLost, _CursorMoved) as exc:
            bound.warning("sync_pass_interrupted", reason=type(exc).__name__)
            return ConnectionReport(
                name, "busy", reports, note="another worker took over the sync lease"
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # isolation boundary: record, retry next pass
            return await self._failed(name, reports, exc, bound)
        finally:
            await self._release_lease(name)
        async with self.sessions.begin() as session:
            await record_success(session, name, now=self.clock())
        bound.info(
            "sync_pass_done",
            pages=sum(r.pages for r in reports),
            accepted=sum(r.accepted for r in reports),
            rejected=sum(r.rejected for r in reports),
        )
        return ConnectionReport(name, "ok", reports)

    async def _sync_stream(
        self,
        adapter: Adapter[Any],
        stream: SyncStream,
        report: StreamReport,
        stop: asyncio.Event | None,
        bound: Any,
    ) -> None:
        name = adapter.connection_name
        async with self.sessions() as session:
            cursor = await CursorRepository(session).get(name, stream.name)
        read: Callable[[str | None], Any] = getattr(adapter, stream.method)
        for _ in range(self.settings.sync.max_pages_per_pass):
            if stop is not None and stop.is_set():
                return
            page = await read(cursor)
            if not isinstance(page, Page):
                raise ContractViolation(
                    f"{stream.method} returned {type(page).__name__}, not a Page"
                )
            records = _checked(stream, page.records)
            now = self.clock()
            async with self.sessions.begin() as session:
                cursors = CursorRepository(session)
                if not await self._renew_lease(session, name):
                    raise _LeaseLost
                if await cursors.get(name, stream.name) != cursor:
                    raise _CursorMoved
                if stream.record_type is None:
                    result = await ingest_marks(
                        session, records, source=f"sync:{name}", now=now, rules=self.rules
                    )
                    accepted, rejected = result.accepted, len(result.rejected)
                    changed = len(result.changed_keys)
                else:
                    changed = await ingest_reference(session, records, now=now)
                    accepted, rejected = len(records), 0
                await cursors.set(name, stream.name, page.next_cursor, now=now)
            cursor = page.next_cursor
            report.pages += 1
            report.accepted += accepted
            report.rejected += rejected
            report.changed += changed
            self._count_page(name, stream.name, accepted, rejected)
            bound.debug(
                "sync_page_committed",
                stream=stream.name,
                records=len(records),
                rejected=rejected,
                has_more=page.has_more,
            )
            if not page.has_more:
                report.complete = True
                return

    # -- leases, failures, metrics ------------------------------------------------------------

    async def _renew_lease(self, session: AsyncSession, name: str) -> bool:
        return await CursorRepository(session).acquire_lease(
            name, self.owner, lease_seconds=self.settings.sync.lease_seconds, now=self.clock()
        )

    async def _release_lease(self, name: str) -> None:
        try:
            async with self.sessions.begin() as session:
                await CursorRepository(session).release_lease(name, self.owner)
        except Exception as exc:  # the lease expires by itself
            log.error("sync_lease_release_failed", connection=name, error_class=type(exc).__name__)

    async def _failed(
        self, name: str, reports: list[StreamReport], error: BaseException, bound: Any
    ) -> ConnectionReport:
        try:
            async with self.sessions.begin() as session:
                health = await record_failure(session, name, error, now=self.clock())
            status = health.status
        except Exception as exc:  # the database may be the problem; the log still says it
            bound.error("sync_health_unrecorded", error_class=type(exc).__name__)
            status = "failing"
        bound.warning(
            "sync_pass_failed",
            error_class=type(error).__name__,
            error=describe_error(error),
            connection_status=status,
        )
        if self.metrics is not None:
            self.metrics.sync_failures.labels(connection=name, error=type(error).__name__).inc()
        return ConnectionReport(
            name,
            "failed",
            reports,
            error=describe_error(error).partition(": ")[2] or describe_error(error),
            error_class=type(error).__name__,
            exception=error,
        )

    def _count_page(self, name: str, stream: str, accepted: int, rejected: int) -> None:
        if self.metrics is None:
            return
        self.metrics.sync_pages.labels(connection=name, stream=stream).inc()
        records = self.metrics.sync_records
        records.labels(connection=name, stream=stream, outcome="accepted").inc(accepted)
        records.labels(connection=name, stream=stream, outcome="rejected").inc(rejected)

    # -- the loop -----------------------------------------------------------------------------

    async def run_connection(self, name: str, stop: asyncio.Event) -> None:
        """Sync `name` every ``poll_interval_seconds`` until `stop`; after a failure, sooner,
        with exponential backoff (or at the vendor's `Retry-After`)."""
        interval = self.settings.connection(name).poll_interval_seconds
        backoff = Backoff(
            initial=min(self.settings.outbox.backoff_initial_seconds, interval), maximum=interval
        )
        failures = 0
        while not stop.is_set():
            try:
                report = await finish_or_abandon(
                    self.sync_connection(name, stop=stop), stop, grace=STOP_GRACE_SECONDS
                )
            except Abandoned:
                # Cut short mid-page: nothing of that page was committed, its cursor did not
                # move, and the lease runs out by itself (or the next owner renews it).
                log.warning("sync_pass_abandoned", connection=name)
                return
            except Exception as exc:  # isolation boundary (database down, say): keep looping
                log.error("sync_pass_crashed", connection=name, error_class=type(exc).__name__)
                report = ConnectionReport(name, "failed", exception=exc)
            if report.failed:
                failures += 1
                delay = backoff.delay(failures, report.exception)
                if isinstance(report.exception, RateLimited):
                    delay = max(delay, report.exception.retry_after or 0.0)
            else:
                failures = 0
                delay = interval
            await pause(stop, delay)


def _checked(stream: SyncStream, records: Sequence[Any]) -> Sequence[Any]:
    if stream.record_type is None:
        return records
    for index, record in enumerate(records):
        if not isinstance(record, stream.record_type):
            raise ContractViolation(
                f"{stream.method} returned a {type(record).__name__} at index {index}, "
                f"not a {stream.record_type.__name__}"
            )
    return records
