"""The outbox dispatcher: deliver every pending row exactly once, as far as the receiver sees.

One pass claims due rows under a lease (committed at once, so other workers skip them),
delivers them — rows of one connection in order, connections in parallel — and settles them:

- delivered: the receipt, the notification's status, the row's ``delivered`` state and an
  audit-ledger entry (what, to whom, why, lawful basis) commit together. Consecutive rows of
  one connection and kind (notifications, or write-backs) are sent one call each, under each
  row's own key, and committed in batches of up to 25 (`Dispatcher.deliver_run`): one
  transaction and one ledger lock for many rows. Each row keeps its own receipt, entry and
  outcome;
- transient failure (`TransientError`, `RateLimited`, `AuthError`, a timeout, a disabled
  connection): the row is rescheduled with exponential backoff and jitter (`Backoff`), or at the
  vendor's `Retry-After`; after ``outbox.max_attempts`` attempts it becomes a dead letter;
- permanent failure (`PermanentError`, `ConfigError`, a missing notification, a bug in a
  plugin): a dead letter at once, with the reason; a `ContractViolation` (a garbled reply) is
  retried like a transient failure, since the retry carries the same idempotency key;
- withheld: the share would reach a setting the learner's `sharing_restrictions` name (the
  recipient ``setting:<id>``, a connection serving only such settings, a write-back's register)
  and it is not a safeguarding alert: nothing is sent, a dead letter says why and the ledger
  records a ``withhold`` entry. A safeguarding alert is sent and its ``share`` entry records
  the override and its basis (`hub.engine.sharing.OVERRIDE_BASIS`).

Delivery is at least once (a crash after the receiver acted but before the commit means a
second attempt) and every attempt carries the row's deterministic idempotency key, so a
receiver that honours it applies each delivery once. Every failure is logged with the outbox
id, connection and error class — never a payload.

Shutdown (`run` with `stop` set): no new rows are claimed or started; deliveries in flight get
`drain_timeout` seconds to finish, then are cancelled; every lease still held is given back
(`OutboxRepository.release`) so another worker takes the rows at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.engine.backoff import Backoff
from hub.engine.clock import Abandoned, finish_or_abandon, pause, utcnow
from hub.engine.delivery import (
    Delivered,
    Unsendable,
    deliver_row,
)
from hub.engine.destinations import Destinations
from hub.engine.health import describe_error, load_health, record_failure, record_success
from hub.engine.metrics import EngineMetrics
from hub.engine.routing import NOTIFICATION, WRITE_MARKS, notification_key_prefix
from hub.engine.sharing import RestrictionCheck, restricted_destinations, share_record
from hub.sdk import (
    AdapterError,
    AuthError,
    ConfigError,
    ContractViolation,
    TransientError,
)
from hub.settings import HubSettings
from hub.store import (
    AuditLedger,
    ConflictError,
    DeliveryReceiptRepository,
    LearnerRepository,
    NotificationRepository,
    OutboxItem,
    OutboxRepository,
    OutboxStatus,
)
from hub.store.models import OutboxRow
from hub_contracts import Learner, Notification, NotificationStatus

__all__ = ["DispatchSummary", "Dispatcher"]

log = structlog.get_logger(__name__)

AUDIT_ACTOR = "engine"
AUDIT_ACTION = "share"
#: The ledger action of a share withheld because of a learner's `sharing_restrictions`.
AUDIT_WITHHOLD = "withhold"
#: Share of the lease a single delivery may take, so it settles before the lease runs out.
_DELIVERY_SHARE_OF_LEASE = 0.8
_MAX_REASON_CHARS = 4000
#: Delivered rows are committed in batches of this many (`Dispatcher.deliver_run`)...
_SETTLE_EVERY = 25
#: ...or, before the next send, once the first of them has waited this long (seconds).
_SETTLE_AFTER_SECONDS = 1.0


@dataclass
class DispatchSummary:
    """What one pass did; `claimed` counts rows leased in the pass."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lease_lost: int = 0
    released: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


class _LeaseLost(Exception):
    """Our lease on the row ran out and another worker took it: roll back, change nothing."""


class Dispatcher:
    """Delivers outbox rows for one worker (`owner`, its name in leases)."""

    def __init__(
        self,
        *,
        settings: HubSettings,
        sessions: async_sessionmaker[AsyncSession],
        destinations: Destinations,
        owner: str,
        metrics: EngineMetrics | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        backoff: Backoff | None = None,
        drain_timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        self.config = settings.outbox
        self.sessions = sessions
        self.destinations = destinations
        self.owner = owner
        self.metrics = metrics
        self.clock = clock
        self.backoff = backoff or Backoff.from_settings(settings.outbox)
        self.drain_timeout = drain_timeout
        self.delivery_timeout = max(0.5, self.config.lease_seconds * _DELIVERY_SHARE_OF_LEASE)

    # -- the loop -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, wakeup: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set, polling every ``poll_interval_seconds`` or as soon as
        `wakeup` is set (the API sets it after enqueuing)."""
        log.info("dispatcher_started", worker=self.owner)
        failures = 0
        try:
            while not stop.is_set():
                if wakeup is not None:
                    wakeup.clear()
                summary = await self._pass_until_stopped(stop)
                if summary is None:  # the pass itself failed (database down, say)
                    failures += 1
                    await pause(stop, self.backoff.delay(failures))
                    continue
                failures = 0
                if summary.claimed >= self.config.batch_size:
                    continue  # more may be due right now
                await pause(stop, self.config.poll_interval_seconds, wakeup=wakeup)
        finally:
            await self._release()
            log.info("dispatcher_stopped", worker=self.owner)

    async def _pass_until_stopped(self, stop: asyncio.Event) -> DispatchSummary | None:
        """One pass; if `stop` is set meanwhile, in-flight deliveries get `drain_timeout`."""
        try:
            return await finish_or_abandon(
                self.dispatch_once(stop=stop), stop, grace=self.drain_timeout
            )
        except Abandoned:
            log.warning("dispatcher_drain_timeout", worker=self.owner)
            return DispatchSummary()  # the leases are released by `run`
        except Exception as exc:  # isolation boundary: log, back off, keep the loop alive
            log.error("dispatcher_pass_failed", worker=self.owner, error_class=type(exc).__name__)
            return None

    async def _release(self) -> None:
        try:
            async with self.sessions.begin() as session:
                released = await OutboxRepository(session).release(self.owner)
        except Exception as exc:  # the leases then expire by themselves; nothing is lost
            log.error("outbox_release_failed", worker=self.owner, error_class=type(exc).__name__)
            return
        if released:
            log.info("outbox_leases_released", worker=self.owner, count=released)

    # -- one pass -----------------------------------------------------------------------------

    async def dispatch_once(self, *, stop: asyncio.Event | None = None) -> DispatchSummary:
        """Claim due rows and deliver them; returns what happened."""
        now = self.clock()
        async with self.sessions.begin() as session:
            items = await OutboxRepository(session).claim_due(
                self.owner,
                limit=self.config.batch_size,
                lease_seconds=self.config.lease_seconds,
                now=now,
            )
        summary = DispatchSummary(claimed=len(items))
        if not items:
            return summary
        groups: dict[str | None, list[OutboxItem]] = {}
        for item in items:
            groups.setdefault(item.connection, []).append(item)
        async with asyncio.TaskGroup() as tg:
            for group in groups.values():
                tg.create_task(self._deliver_in_order(group, summary, stop))
        if stop is not None and stop.is_set():
            await self._release()
        return summary

    async def _deliver_in_order(
        self, items: Sequence[OutboxItem], summary: DispatchSummary, stop: asyncio.Event | None
    ) -> None:
        for run in _runs(items):
            if stop is not None and stop.is_set():
                return  # not started: released by the caller
            try:
                if len(run) == 1:
                    outcomes = [await self.deliver(run[0])]
                else:
                    outcomes = await self.deliver_run(run, stop)
            except Exception as exc:  # isolation boundary: the database failed us, not the row
                # This connection's remaining rows stay leased and come back when the lease
                # runs out; other connections' deliveries carry on.
                log.error(
                    "delivery_unsettled",
                    outbox_id=run[0].id,
                    connection=run[0].connection,
                    error_class=type(exc).__name__,
                )
                return
            for outcome in outcomes:
                summary.add(outcome)

    async def deliver(self, item: OutboxItem) -> str:
        """Deliver one claimed row and settle it; returns the outcome (`delivered`, `retried`,
        `dead` or `lease_lost`). Database errors propagate (the lease then expires)."""
        bound = log.bind(
            outbox_id=item.id, connection=item.connection, kind=item.kind, attempt=item.attempts
        )
        try:
            notification = await self._notification_of(item)
        except Unsendable as exc:
            return await self._settle_failure(item, exc, bound)
        # Learner.sharing_restrictions, checked at delivery so a restriction added after the row
        # was enqueued still holds; only a safeguarding alert overrides (and says so).
        restriction = await self._restriction_check(item, notification)
        if restriction is not None and restriction.withheld:
            return await self._settle_withheld(item, notification, restriction, bound)
        delivered = await self._attempt(item, notification, bound)
        if isinstance(delivered, str):
            return delivered  # failed, and settled as such
        return await self._settle_success(item, delivered, bound, restriction)

    @overload
    async def _attempt(
        self, item: OutboxItem, notification: Notification | None, bound: Any
    ) -> Delivered | str: ...

    @overload
    async def _attempt(
        self,
        item: OutboxItem,
        notification: Notification | None,
        bound: Any,
        *,
        settle_failure: Literal[False],
    ) -> Delivered | BaseException: ...

    async def _attempt(
        self,
        item: OutboxItem,
        notification: Notification | None,
        bound: Any,
        *,
        settle_failure: bool = True,
    ) -> Delivered | str | BaseException:
        """Send one row. A success is returned, not settled; a failure is settled here (its
        outcome returned), or with ``settle_failure=False`` returned for the caller to settle."""
        try:
            attempt = deliver_row(item, notification, self.destinations, now=self.clock())
            try:
                async with asyncio.timeout(self.delivery_timeout):
                    return await attempt
            except TimeoutError as exc:
                raise TransientError(
                    f"delivery took longer than {self.delivery_timeout:g}s"
                ) from exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # isolation boundary: a plugin bug dead-letters the row
            if not isinstance(exc, AdapterError | Unsendable):
                bound.error("delivery_crashed", error_class=type(exc).__name__)
            if not settle_failure:
                return exc
            return await self._settle_failure(item, exc, bound)

    async def deliver_run(
        self, items: Sequence[OutboxItem], stop: asyncio.Event | None = None
    ) -> list[str]:
        """Deliver consecutive rows of one connection and one kind (notifications, or register
        write-backs), in order, one call each under the row's own idempotency key — exactly as
        `deliver` would — but read their notifications and learners once, and commit the
        deliveries in small batches: one transaction and one ledger lock for up to
        `_SETTLE_EVERY` rows rather than one each.

        Delivered rows wait for their commit only while the next rows go out quickly: before
        each send, the rows waiting are committed if there are `_SETTLE_EVERY` of them or the
        first has waited `_SETTLE_AFTER_SECONDS`, and before any failure or withheld row is
        settled. So a row's commit is held back by at most one further send. A crash meanwhile
        means the waiting rows go again once their lease runs out, under the same keys (at
        least once, as before; receivers that honour the key apply them once). Returns the
        outcomes of the rows handled: none after `stop` is set (the rest are released by the
        caller).
        """
        kind = items[0].kind
        bound = log.bind(connection=items[0].connection, kind=kind, rows=len(items))
        wanted = {item.id: item.payload.get("notification_id") for item in items}
        targets = {item.id: _write_targets(item) for item in items}
        async with self.sessions() as session:
            found = (
                await NotificationRepository(session).get_many(
                    v for v in wanted.values() if isinstance(v, str)
                )
                if kind == NOTIFICATION
                else {}
            )
            upns = {n.upn for n in found.values() if n.upn is not None}
            upns.update(upn for t in targets.values() for upn in t)
            learners = await LearnerRepository(session).get_many(upns) if upns else {}
        outcomes: list[str] = []
        waiting: list[tuple[OutboxItem, Delivered, RestrictionCheck | None]] = []
        since = 0.0

        async def commit_waiting() -> None:
            nonlocal waiting
            if waiting:
                batch, waiting = waiting, []
                outcomes.extend((await self._settle_successes(batch, bound)).values())

        for item in items:
            if stop is not None and stop.is_set():
                break
            row_log = bound.bind(outbox_id=item.id, attempt=item.attempts)
            notification: Notification | None = None
            if kind == NOTIFICATION:
                notification_id = wanted[item.id]
                if isinstance(notification_id, str):
                    notification = found.get(notification_id)
                if notification is None:
                    reason = (
                        f"notification {notification_id!r} does not exist"
                        if isinstance(notification_id, str)
                        else "outbox payload has no notification_id"
                    )
                    await commit_waiting()
                    outcomes.append(await self._settle_failure(item, Unsendable(reason), row_log))
                    continue
            restriction = self._row_check(item, notification, targets[item.id], learners)
            if restriction is not None and restriction.withheld:
                await commit_waiting()
                outcomes.append(
                    await self._settle_withheld(item, notification, restriction, row_log)
                )
                continue
            if waiting and (
                len(waiting) >= _SETTLE_EVERY or time.monotonic() - since >= _SETTLE_AFTER_SECONDS
            ):
                await commit_waiting()
            attempt = await self._attempt(item, notification, row_log, settle_failure=False)
            if isinstance(attempt, BaseException):
                await commit_waiting()
                outcomes.append(await self._settle_failure(item, attempt, row_log))
                continue
            if not waiting:
                since = time.monotonic()
            waiting.append((item, attempt, restriction))
        await commit_waiting()
        return outcomes

    def _row_check(
        self,
        item: OutboxItem,
        notification: Notification | None,
        targets: Mapping[str, set[str]],
        learners: Mapping[str, Learner],
    ) -> RestrictionCheck | None:
        """`_restriction_check` from learners already read."""
        if notification is not None:
            if notification.upn is None:
                return None
            return self._check(
                item,
                notification.kind.value,
                notification.recipient,
                {notification.upn: set()},
                learners,
            )
        if not targets:
            return None
        return self._check(item, item.kind, item.recipient, targets, learners)

    # -- delivering ---------------------------------------------------------------------------

    async def _notification_of(self, item: OutboxItem) -> Notification | None:
        if item.kind != NOTIFICATION:
            return None
        notification_id = item.payload.get("notification_id")
        if not isinstance(notification_id, str):
            raise Unsendable("outbox payload has no notification_id")
        async with self.sessions() as session:
            notification = await NotificationRepository(session).get(notification_id)
        if notification is None:
            raise Unsendable(f"notification {notification_id!r} does not exist")
        return notification

    async def _restriction_check(
        self, item: OutboxItem, notification: Notification | None
    ) -> RestrictionCheck | None:
        """The row's share checked against its learners' `sharing_restrictions` (None when it
        is about no single learner: the periodic absence return goes to the LA)."""
        targets: dict[str, set[str]] = {}  # learner -> settings whose register a row writes
        recipient: str | None
        if notification is not None:
            kind, recipient = notification.kind.value, notification.recipient
            if notification.upn is not None:
                targets[notification.upn] = set()
        else:
            kind, recipient = item.kind, item.recipient
            marks = item.payload.get("marks") if item.kind == WRITE_MARKS else None
            for mark in marks if isinstance(marks, list) else []:
                if isinstance(mark, dict) and isinstance(mark.get("upn"), str):
                    targets.setdefault(mark["upn"], set()).add(str(mark.get("setting_id")))
        if not targets:
            return None
        async with self.sessions() as session:
            learners = await LearnerRepository(session).get_many(targets)
        return self._check(item, kind, recipient, targets, learners)

    def _check(
        self,
        item: OutboxItem,
        kind: str,
        recipient: str | None,
        targets: Mapping[str, set[str]],
        learners: Mapping[str, Learner],
    ) -> RestrictionCheck:
        try:
            served = self.destinations.connection(str(item.connection)).setting_ids
        except ConfigError:
            served = []
        restricted: set[str] = set()
        for upn, learner in learners.items():
            if upn not in targets:
                continue
            restricted.update(
                restricted_destinations(
                    learner.sharing_restrictions,
                    recipient=recipient,
                    connection_setting_ids=served,
                    setting_ids=targets[upn],
                )
            )
        return RestrictionCheck(kind, tuple(sorted(restricted)))

    # -- settling -----------------------------------------------------------------------------

    async def _settle_success(
        self,
        item: OutboxItem,
        delivered: Delivered,
        bound: Any,
        restriction: RestrictionCheck | None = None,
    ) -> str:
        """Commit one delivered row (`_settle_successes` of one)."""
        outcomes = await self._settle_successes([(item, delivered, restriction)], bound)
        return outcomes[item.id]

    async def _settle_successes(
        self,
        rows: Sequence[tuple[OutboxItem, Delivered, RestrictionCheck | None]],
        bound: Any,
    ) -> dict[int, str]:
        """`_settle_success` for several delivered rows, in one transaction: their rows,
        receipts, notifications' status and ledger entries commit together (a row whose lease
        was lost is left out)."""
        now = self.clock()
        async with self.sessions.begin() as session:
            held = await OutboxRepository(session).mark_delivered_many(
                [item.id for item, _, _ in rows], self.owner, now=now
            )
            settled = [row for row in rows if row[0].id in held]
            await DeliveryReceiptRepository(session).add_many([d.receipt for _, d, _ in settled])
            notifications = NotificationRepository(session)
            for _, delivered, _ in settled:
                notification = delivered.notification
                if notification is not None and not await _undelivered_siblings(
                    session, notification.id
                ):
                    await notifications.set_status(
                        notification.id, NotificationStatus.DELIVERED, delivered_at=now
                    )
            await AuditLedger(session).append_many(
                [
                    (
                        AUDIT_ACTOR,
                        AUDIT_ACTION,
                        _subject(item, delivered.notification),
                        share_record(
                            kind=delivered.share_kind,
                            to=str(item.connection),
                            recipient=item.recipient,
                            what={**delivered.what, "outbox_id": item.id},
                            idempotency_key=item.idempotency_key,
                            external_ref=delivered.receipt.external_ref,
                            worker=self.owner,
                            restriction=restriction,
                        ),
                    )
                    for item, delivered, restriction in settled
                ],
                at=now,
            )
            for connection in {str(item.connection) for item, _, _ in settled}:
                if (
                    self._is_notifier(connection)
                    and (await load_health(session, connection)).status != "ok"
                ):
                    await record_success(session, connection, now=now)
        outcomes = {}
        for item, delivered, _ in rows:
            row_log = bound.bind(outbox_id=item.id, attempt=item.attempts)
            if item.id in held:
                outcomes[item.id] = self._delivered(item, delivered, row_log)
            else:
                outcomes[item.id] = self._lease_lost(item, row_log)
        return outcomes

    def _delivered(self, item: OutboxItem, delivered: Delivered, bound: Any) -> str:
        """After the commit: count, log and measure one delivered row."""
        self._count(item, "delivered")
        if delivered.rejected:
            bound.warning(
                "write_back_rejected",
                count=len(delivered.rejected),
                indexes=[r["index"] for r in delivered.rejected],
            )
        if item.kind == WRITE_MARKS and self.metrics is not None:
            n_rejected = len(delivered.rejected)
            n_accepted = int(delivered.what["marks"]) - n_rejected
            labels = {"connection": str(item.connection)}
            self.metrics.write_back_records.labels(**labels, outcome="accepted").inc(n_accepted)
            self.metrics.write_back_records.labels(**labels, outcome="rejected").inc(n_rejected)
        bound.info("delivered", external_ref=delivered.receipt.external_ref)
        return "delivered"

    async def _settle_failure(self, item: OutboxItem, error: BaseException, bound: Any) -> str:
        """Reschedule or dead-letter a row that failed."""
        now = self.clock()
        # A garbled reply (ContractViolation: a truncated or non-JSON answer) is retried like a
        # transient failure: the crash soak showed it is usually a transport fault, often after
        # the receiver applied the delivery, and every attempt carries the same idempotency key.
        retryable = isinstance(error, TransientError | AuthError | ContractViolation)
        exhausted = item.attempts >= self.config.max_attempts
        reason = _reason(error)
        retry_at: dt.datetime | None = None
        if retryable and not exhausted:
            retry_at = self.backoff.retry_at(now, item.attempts, error)
        elif retryable:
            reason = f"gave up after {item.attempts} attempts; last error: {reason}"
        notification_id = item.payload.get("notification_id") if item.kind == NOTIFICATION else None
        try:
            async with self.sessions.begin() as session:
                if isinstance(error, AuthError | ConfigError) and item.connection is not None:
                    await record_failure(session, item.connection, error, now=now, failing=True)
                outbox = OutboxRepository(session)
                if retry_at is not None:
                    if not await outbox.mark_failed(
                        item.id, self.owner, error=reason, retry_at=retry_at
                    ):
                        raise _LeaseLost
                    status = NotificationStatus.FAILED
                else:
                    try:
                        await outbox.to_dead_letter(item.id, self.owner, reason=reason, now=now)
                    except ConflictError as exc:
                        raise _LeaseLost from exc
                    status = NotificationStatus.DEAD
                if isinstance(notification_id, str):
                    await NotificationRepository(session).set_status(notification_id, status)
        except _LeaseLost:
            return self._lease_lost(item, bound)
        if retry_at is not None:
            bound.warning(
                "delivery_failed",
                error_class=type(error).__name__,
                error=describe_error(error),
                retry_at=retry_at.isoformat(),
            )
            self._count(item, "retry")
            return "retried"
        bound.error(
            "delivery_dead_lettered",
            error_class=type(error).__name__,
            error=describe_error(error),
            exhausted=retryable,
        )
        self._count(item, "dead")
        return "dead"

    async def _settle_withheld(
        self,
        item: OutboxItem,
        notification: Notification | None,
        check: RestrictionCheck,
        bound: Any,
    ) -> str:
        """Not sent: a dead letter saying why (replaying it checks again) and a ledger entry."""
        now = self.clock()
        reason = (
            "withheld: the learner's sharing_restrictions name "
            f"{', '.join(check.restricted)}; only a safeguarding alert overrides them"
        )
        if notification is not None:
            what: dict[str, Any] = {"notification_id": notification.id, "upn": notification.upn}
        else:
            what = {"ref": item.payload.get("ref")}
        try:
            async with self.sessions.begin() as session:
                try:
                    await OutboxRepository(session).to_dead_letter(
                        item.id, self.owner, reason=reason, now=now
                    )
                except ConflictError as exc:
                    raise _LeaseLost from exc
                if notification is not None:
                    await NotificationRepository(session).set_status(
                        notification.id, NotificationStatus.DEAD
                    )
                await AuditLedger(session).append(
                    AUDIT_ACTOR,
                    AUDIT_WITHHOLD,
                    _subject(item, notification),
                    check.ledger_detail(
                        to=str(item.connection),
                        recipient=item.recipient,
                        what={**what, "outbox_id": item.id},
                        worker=self.owner,
                    ),
                    at=now,
                )
        except _LeaseLost:
            return self._lease_lost(item, bound)
        bound.warning("delivery_withheld", restricted_settings=len(check.restricted))
        self._count(item, "dead")  # a dead letter, with the reason
        return "dead"

    def _is_notifier(self, connection: str) -> bool:
        try:
            return self.destinations.kind(connection) == "notifier"
        except ConfigError:
            return False

    def _lease_lost(self, item: OutboxItem, bound: Any) -> str:
        # Another worker took the row after our lease ran out; it delivers again under the same
        # idempotency key, so the receiver still applies it once.
        bound.warning("delivery_lease_lost", worker=self.owner)
        self._count(item, "lease_lost")
        return "lease_lost"

    def _count(self, item: OutboxItem, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.deliveries.labels(
                connection=str(item.connection), kind=item.kind, outcome=outcome
            ).inc()


async def _undelivered_siblings(session: AsyncSession, notification_id: str) -> int:
    """Deliveries of the same notification to other connections that are not done yet."""
    o = OutboxRow.__table__.c
    prefix = notification_key_prefix(notification_id)
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = select(func.count()).where(
        o.idempotency_key.like(pattern, escape="\\"),
        o.status != OutboxStatus.DELIVERED.value,
    )
    return int((await session.execute(query)).scalar_one())


def _runs(items: Sequence[OutboxItem]) -> Iterator[list[OutboxItem]]:
    """`items` (one connection's, in order) as runs to deliver: consecutive notifications
    together, consecutive write-backs together (`Dispatcher.deliver_run`), any other row
    alone."""
    run: list[OutboxItem] = []
    for item in items:
        if run and item.kind == run[0].kind and item.kind in (NOTIFICATION, WRITE_MARKS):
            run.append(item)
            continue
        if run:
            yield run
        run = [item]
    if run:
        yield run


def _write_targets(item: OutboxItem) -> dict[str, set[str]]:
    """A write-back's learners, each with the settings whose register it writes."""
    targets: dict[str, set[str]] = {}
    for mark in _payload_marks(item):
        if isinstance(mark.get("upn"), str):
            targets.setdefault(mark["upn"], set()).add(str(mark.get("setting_id")))
    return targets


def _payload_marks(item: OutboxItem) -> list[dict[str, Any]]:
    marks = item.payload.get("marks") if item.kind == WRITE_MARKS else None
    return [m for m in marks if isinstance(m, dict)] if isinstance(marks, list) else []


def _subject(item: OutboxItem, notification: Notification | None) -> str:
    if notification is not None:
        return f"notification:{notification.id}"
    return f"outbox:{item.id}"


def _reason(error: BaseException) -> str:
    """The dead-letter / last-error text operators see (kept in the database, not logged)."""
    if isinstance(error, AdapterError | Unsendable):
        return f"{type(error).__name__}: {error}"[:_MAX_REASON_CHARS]
    # A bug in a plugin or the hub: keep the traceback for whoever fixes it.
    text = "".join(traceback.format_exception(error))
    return f"unexpected {type(error).__name__}: {text}"[:_MAX_REASON_CHARS]
