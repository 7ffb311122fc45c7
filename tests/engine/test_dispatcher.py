"""The outbox dispatcher over real HTTP (a loopback receiver) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, ClassVar

import structlog
from prometheus_client import CollectorRegistry
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.engine.delivery import delivery_method
from hub.engine.health import connection_states
from hub.engine.metrics import register_engine_metrics
from hub.engine.routing import (
    enqueue_notification,
    enqueue_write_marks,
    notification_key,
    route_notification,
)
from hub.sdk import (
    Adapter,
    AdapterConfig,
    AdapterManifest,
    Capability,
    ContractViolation,
    RecordOutcome,
    TransientError,
    WriteResult,
)
from hub.store import (
    AuditLedger,
    DeadLetterRepository,
    DeliveryReceiptRepository,
    LearnerRepository,
    NotificationRepository,
    OutboxRepository,
    OutboxStatus,
)
from hub_contracts import (
    AttendanceMark,
    DeliveryReceipt,
    Notification,
    NotificationKind,
    NotificationStatus,
)

Sessions = async_sessionmaker[AsyncSession]


async def _enqueue(sessions: Sessions, settings: Any, *notifications: Notification) -> None:
    async with sessions.begin() as session:
        for n in notifications:
            enqueued = await enqueue_notification(
                session, settings, n, la_code="999", now=n.created_at
            )
            assert enqueued, "routed nowhere"


async def _row(sessions: Sessions, key: str) -> Any:
    async with sessions() as session:
        return await OutboxRepository(session).get_by_key(key)


async def _notification(sessions: Sessions, notification_id: str) -> Notification:
    async with sessions() as session:
        found = await NotificationRepository(session).get(notification_id)
    assert found is not None
    return found


# --- delivery --------------------------------------------------------------------------------


async def test_delivers_with_key_signature_receipt_status_and_audit_entry(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    settings = kit.settings(database_url, webhook_url=receiver.url)
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    notification = kit.notification(1)
    await _enqueue(sessions, settings, notification)

    summary = await dispatcher.dispatch_once()
    await destinations.close()

    key = notification_key(notification.id, "la-hook")
    assert (summary.claimed, summary.delivered) == (1, 1)
    assert [(s.key, s.notification_id, s.signature_ok) for s in receiver.seen] == [
        (key, notification.id, True)
    ]
    row = await _row(sessions, key)
    assert row.status is OutboxStatus.DELIVERED and row.delivered_at == clock.now
    stored = await _notification(sessions, notification.id)
    assert stored.status is NotificationStatus.DELIVERED and stored.delivered_at == clock.now
    async with sessions() as session:
        (receipt,) = await DeliveryReceiptRepository(session).for_notification(notification.id)
        ledger = AuditLedger(session)
        (entry,) = await ledger.entries()
        verified = await ledger.verify()
    assert (receipt.idempotency_key, receipt.external_ref) == (key, "rcv-1")
    assert (entry.actor, entry.action, entry.subject) == (
        "engine",
        "share",
        f"notification:{notification.id}",
    )
    assert entry.detail["to"] == "la-hook" and entry.detail["recipient"] == "la"
    assert entry.detail["what"]["upn"] == notification.upn
    assert entry.detail["lawful_basis"]["article"].startswith("UK GDPR Art 6(1)(c)")
    assert any("reg 12(3)" in c for c in entry.detail["lawful_basis"]["citations"])
    assert verified.ok and verified.checked == 1


async def test_transient_failures_back_off_exponentially_then_deliver_once(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    receiver.fail_first = 2
    settings = kit.settings(database_url, webhook_url=receiver.url)
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    notification = kit.notification(2)
    key = notification_key(notification.id, "la-hook")
    await _enqueue(sessions, settings, notification)

    delays = []
    for _ in range(2):
        start = clock.now
        assert (await dispatcher.dispatch_once()).retried == 1
        row = await _row(sessions, key)
        assert row.status is OutboxStatus.PENDING and "HTTP 503" in row.last_error
        assert (await _notification(sessions, notification.id)).status is NotificationStatus.FAILED
        assert (await dispatcher.dispatch_once()).claimed == 0, "not due before its retry time"
        delays.append((row.next_attempt_at - start).total_seconds())
        clock.now = row.next_attempt_at
    assert (await dispatcher.dispatch_once()).delivered == 1
    await destinations.close()

    # initial 1 s doubling, plus up to 1 s of jitter.
    assert 1.0 <= delays[0] <= 2.0 and 2.0 <= delays[1] <= 3.0
    assert receiver.requests_for(key) == 3
    assert receiver.applied_per_notification[notification.id] == 1
    assert (await _row(sessions, key)).attempts == 3


async def test_retry_after_from_a_429_sets_the_next_attempt(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    notification = kit.notification(3)
    key = notification_key(notification.id, "la-hook")
    receiver.status_for[key] = 429
    receiver.headers_for[key] = {"Retry-After": "120"}
    settings = kit.settings(database_url, webhook_url=receiver.url)
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    await _enqueue(sessions, settings, notification)

    assert (await dispatcher.dispatch_once()).retried == 1
    await destinations.close()

    row = await _row(sessions, key)
    assert row.next_attempt_at == clock.now + dt.timedelta(seconds=120)
    assert row.last_error.startswith("RateLimited")


async def test_permanent_failure_is_a_dead_letter_and_replay_delivers_with_the_same_key(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    notification = kit.notification(4, kind=NotificationKind.CME_REFERRAL)
    key = notification_key(notification.id, "la-hook")
    receiver.status_for[key] = 400
    settings = kit.settings(database_url, webhook_url=receiver.url)
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    await _enqueue(sessions, settings, notification)

    with structlog.testing.capture_logs() as logs:
        assert (await dispatcher.dispatch_once()).dead == 1
    async with sessions() as session:
        (letter,) = await DeadLetterRepository(session).list()
    assert letter.reason.startswith("PermanentError") and "HTTP 400" in letter.reason
    assert (await _notification(sessions, notification.id)).status is NotificationStatus.DEAD
    (event,) = [e for e in logs if e["event"] == "delivery_dead_lettered"]
    assert event["error_class"] == "PermanentError" and event["connection"] == "la-hook"
    assert "payload" not in event and notification.upn not in json.dumps(logs, default=str)

    del receiver.status_for[key]
    async with sessions.begin() as session:
        replayed = await DeadLetterRepository(session).replay(letter.id, now=clock.now)
    assert replayed.idempotency_key == key
    assert (await dispatcher.dispatch_once()).delivered == 1
    await destinations.close()
    assert [s.key for s in receiver.seen] == [key, key]
    assert receiver.applied_per_notification[notification.id] == 1


async def test_exhausted_retries_become_a_dead_letter(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    receiver.fail_first = 100
    settings = kit.settings(database_url, webhook_url=receiver.url, outbox={"max_attempts": 3})
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    notification = kit.notification(5)
    key = notification_key(notification.id, "la-hook")
    await _enqueue(sessions, settings, notification)

    outcomes = []
    for _ in range(3):
        summary = await dispatcher.dispatch_once()
        outcomes.append((summary.retried, summary.dead))
        clock.advance(3600)
    await destinations.close()

    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    async with sessions() as session:
        (letter,) = await DeadLetterRepository(session).list()
    assert letter.reason.startswith("gave up after 3 attempts; last error: TransientError")
    assert receiver.requests_for(key) == 3 and not receiver.applied


async def test_auth_failure_retries_and_marks_the_connection_failing(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    receiver.secret = b"another-secret"  # every signature fails: 401
    settings = kit.settings(database_url, webhook_url=receiver.url)
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    await _enqueue(sessions, settings, kit.notification(6))

    assert (await dispatcher.dispatch_once()).retried == 1
    async with sessions() as session:
        (state,) = await connection_states(session, settings, now=clock.now)
    assert (state["name"], state["status"], state["error_class"]) == (
        "la-hook",
        "failing",
        "AuthError",
    )

    receiver.secret = kit.SECRET.encode()
    clock.advance(3600)
    assert (await dispatcher.dispatch_once()).delivered == 1
    await destinations.close()
    async with sessions() as session:
        (state,) = await connection_states(session, settings, now=clock.now)
    assert state["status"] == "ok" and state["last_error"].startswith("AuthError")


async def test_rows_for_unknown_connections_or_missing_notifications_are_dead_letters(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    settings = kit.settings(database_url, webhook_url=receiver.url)
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    async with sessions.begin() as session:
        outbox = OutboxRepository(session)
        await outbox.enqueue(
            "notification",
            {"notification_id": "nope"},
            "k-missing",
            now=clock.now,
            connection="la-hook",
        )
        await NotificationRepository(session).add(kit.notification(7))
        await outbox.enqueue(
            "notification",
            {"notification_id": "synthetic-n-7"},
            "k-unknown-connection",
            now=clock.now,
            connection="gone",
        )
        await outbox.enqueue("mystery", {}, "k-kind", now=clock.now, connection="la-hook")

    assert (await dispatcher.dispatch_once()).dead == 3
    await destinations.close()
    async with sessions() as session:
        reasons = sorted(letter.reason for letter in await DeadLetterRepository(session).list())
    assert reasons == [
        "ConfigError: no connection named 'gone' in the configuration",
        "Unsendable: notification 'nope' does not exist",
        "Unsendable: unknown outbox row kind 'mystery'",
    ]
    assert not receiver.seen


async def test_disabled_connection_holds_deliveries(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    settings = kit.settings(database_url, webhook_url=receiver.url)
    settings.connections[0].enabled = False
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    notification = kit.notification(8)
    await _enqueue(sessions, settings, notification)

    assert (await dispatcher.dispatch_once()).retried == 1
    await destinations.close()
    row = await _row(sessions, notification_key(notification.id, "la-hook"))
    assert row.status is OutboxStatus.PENDING and "disabled" in row.last_error
    assert not receiver.seen


# --- adapters as destinations ---------------------------------------------------------------


class VendorConfig(AdapterConfig):
    label: str = Field(default="synthetic")


class VendorAdapter(Adapter[VendorConfig]):
    """A vendor that receives returns, opens concerns and takes write-backs, all in memory."""

    manifest = AdapterManifest(
        name="vendor",
        display_name="Synthetic vendor",
        capabilities=frozenset(
            {Capability.SEND_RETURN, Capability.RAISE_CONCERN, Capability.WRITE_MARKS}
        ),
        config_model=VendorConfig,
    )
    calls: ClassVar[list[tuple[str, str]]] = []
    #: Replies left to garble (a truncated or non-JSON 200), for notifications asking for it.
    garbled_left: ClassVar[int] = 0

    async def check(self) -> None:
        return None

    async def send_return(
        self, notification: Notification, idempotency_key: str
    ) -> DeliveryReceipt:
        if notification.payload.get("garbled") and VendorAdapter.garbled_left > 0:
            VendorAdapter.garbled_left -= 1
            raise ContractViolation("the vendor's reply was not JSON")
        return self._receipt("send_return", notification, idempotency_key)

    async def raise_concern(self, alert: Notification, idempotency_key: str) -> DeliveryReceipt:
        if alert.payload.get("explode"):
            raise RuntimeError("synthetic plugin bug")
        return self._receipt("raise_concern", alert, idempotency_key)

    async def write_marks(
        self, batch: Sequence[AttendanceMark], idempotency_key: str
    ) -> WriteResult:
        self.calls.append(("write_marks", idempotency_key))
        # The first is accepted, the second refused; no outcome at all for the third.
        return WriteResult(
            [RecordOutcome(0, True, external_ref="w-0"), RecordOutcome(1, False, "locked")]
        )

    def _receipt(self, method: str, n: Notification, key: str) -> DeliveryReceipt:
        self.calls.append((method, key))
        return DeliveryReceipt(
            notification_id=n.id,
            recipient=n.recipient,
            idempotency_key=key,
            external_ref=f"{method}-{n.id}",
            delivered_at=dt.datetime.now(dt.UTC),
        )


class ConcernsOnlyAdapter(VendorAdapter):
    manifest = AdapterManifest(
        name="concerns-only",
        display_name="Synthetic safeguarding system",
        capabilities=frozenset({Capability.RAISE_CONCERN}),
        config_model=VendorConfig,
    )


def test_delivery_method_follows_kind_and_declared_capabilities() -> None:
    returns_only = frozenset({Capability.SEND_RETURN})
    notices_only = frozenset({Capability.SEND_NOTIFICATION})
    both = returns_only | notices_only
    assert delivery_method(NotificationKind.DELETION_RETURN, both) == "send_return"
    assert delivery_method(NotificationKind.CME_REFERRAL, both) == "send_notification"
    assert delivery_method(NotificationKind.CME_REFERRAL, returns_only) == "send_return"
    assert delivery_method(NotificationKind.ABSENCE_RETURN, notices_only) == "send_notification"
    assert delivery_method(NotificationKind.SAFEGUARDING_ALERT, both) is None
    concerns = frozenset({Capability.RAISE_CONCERN})
    assert delivery_method(NotificationKind.SAFEGUARDING_ALERT, concerns) == "raise_concern"
    assert delivery_method(NotificationKind.DELETION_NOTICE, concerns) is None


async def test_adapter_destinations_get_the_method_for_the_kind_and_bugs_are_dead_letters(
    database_url: str, sessions: Sessions, kit: Any, plugins_with: Any, clock: Any
) -> None:
    VendorAdapter.calls = []
    settings = kit.settings(
        database_url,
        connections=[
            {"name": "vendor-a", "plugin": "vendor"},
            {"name": "concerns", "plugin": "concerns-only"},
        ],
        routes=[
            {"kind": "deletion_return", "connections": ["vendor-a"]},
            {"kind": "safeguarding_alert", "connections": ["vendor-a"]},
            {"kind": "dual_absence_notice", "connections": ["vendor-a", "concerns"]},
        ],
    )
    destinations = kit.destinations(settings, plugins_with(VendorAdapter, ConcernsOnlyAdapter))
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    ret = kit.notification(10)
    alert = kit.notification(11, kind=NotificationKind.SAFEGUARDING_ALERT, recipient="safeguarding")
    bug = kit.notification(12, kind=NotificationKind.SAFEGUARDING_ALERT, payload={"explode": True})
    unsupported = kit.notification(13, kind=NotificationKind.DUAL_ABSENCE_NOTICE)
    await _enqueue(sessions, settings, ret, alert, bug, unsupported)

    summary = await dispatcher.dispatch_once()
    await destinations.close()

    assert (summary.delivered, summary.dead) == (3, 2)
    assert VendorAdapter.calls == [
        ("send_return", notification_key(ret.id, "vendor-a")),
        ("raise_concern", notification_key(alert.id, "vendor-a")),
        # No send_notification: a notice goes through send_return instead.
        ("send_return", notification_key(unsupported.id, "vendor-a")),
    ]
    async with sessions() as session:
        reasons = {
            (await OutboxRepository(session).get(d.outbox_id)).idempotency_key: d.reason  # type: ignore[union-attr]
            for d in await DeadLetterRepository(session).list()
        }
    assert reasons[notification_key(bug.id, "vendor-a")].startswith(
        "unexpected RuntimeError: Traceback"
    )
    assert (
        "cannot deliver dual_absence_notice"
        in reasons[notification_key(unsupported.id, "concerns")]
    )


async def test_write_back_records_every_rejected_record(
    database_url: str, sessions: Sessions, kit: Any, plugins_with: Any, clock: Any
) -> None:
    VendorAdapter.calls = []
    settings = kit.settings(database_url, connections=[{"name": "vendor-a", "plugin": "vendor"}])
    destinations = kit.destinations(settings, plugins_with(VendorAdapter))
    metrics = register_engine_metrics(CollectorRegistry())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock, metrics=metrics)
    marks = [
        AttendanceMark(
            upn=kit.upn(n),
            setting_id=kit.SETTING_ID,
            date=dt.date(2025, 1, 6),
            session="AM",
            code="D",
            source="hub",
            recorded_at=clock.now,
        )  # type: ignore[arg-type]
        for n in (1, 2, 3)
    ]
    async with sessions.begin() as session:
        enqueued = await enqueue_write_marks(
            session, "vendor-a", marks, now=clock.now, ref="disc-1"
        )

    with structlog.testing.capture_logs() as logs:
        assert (await dispatcher.dispatch_once()).delivered == 1
    await destinations.close()

    assert VendorAdapter.calls == [("write_marks", enqueued.item.idempotency_key)]
    async with sessions() as session:
        (receipt,) = await DeliveryReceiptRepository(session).for_notification("disc-1")
        (entry,) = await AuditLedger(session).entries()
    assert json.loads(receipt.detail or "") == {
        "accepted": 1,
        "rejected": [
            {"index": 1, "error": "locked"},
            {"index": 2, "error": "the adapter reported no outcome for this record"},
        ],
    }
    assert entry.subject == f"outbox:{enqueued.item.id}"
    assert entry.detail["what"]["rejected"] == 2 and entry.detail["kind"] == "write_marks"
    (warning,) = [e for e in logs if e["event"] == "write_back_rejected"]
    assert warning["indexes"] == [1, 2]
    sample = metrics.registry.get_sample_value
    labels = {"connection": "vendor-a"}
    assert sample("hub_write_back_records_total", {**labels, "outcome": "accepted"}) == 1
    assert sample("hub_write_back_records_total", {**labels, "outcome": "rejected"}) == 2
    assert (
        sample(
            "hub_outbox_deliveries_total",
            {**labels, "kind": "write_marks", "outcome": "delivered"},
        )
        == 1
    )


async def test_notifications_claimed_together_go_in_order_and_commit_in_batches(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    """Issue 9 (scale): one call per notification, in the order claimed, with the commits of
    up to 25 deliveries batched; every row still gets its own receipt, status and chained
    ledger entry, and a row that cannot go is settled on its own on the way."""
    settings = kit.settings(database_url, webhook_url=receiver.url, outbox={"batch_size": 40})
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    notes = [
        kit.notification(n, recipient="setting:9990002" if n == 7 else "la") for n in range(1, 31)
    ]
    await _enqueue(sessions, settings, *notes)
    async with sessions.begin() as session:
        # Learner 7's record bars setting 9990002, the recipient of notification 7.
        barred = kit.learner(7).model_copy(update={"sharing_restrictions": ["9990002"]})
        await LearnerRepository(session).upsert(barred)
        orphan = await OutboxRepository(session).enqueue(
            "notification",
            {"notification_id": "synthetic-missing"},
            "notification:missing:la-hook",
            now=clock.now,
            connection="la-hook",
        )

    summary = await dispatcher.dispatch_once()
    await destinations.close()

    assert (summary.claimed, summary.delivered, summary.dead) == (31, 29, 2)
    sent = [s.notification_id for s in receiver.seen]
    assert sent == [n.id for n in notes if n.id != "synthetic-n-7"]  # in order, once each
    async with sessions() as session:
        statuses = {n.id: (await NotificationRepository(session).get(n.id)).status for n in notes}  # type: ignore[union-attr]
        receipts = [await DeliveryReceiptRepository(session).for_notification(n.id) for n in notes]
        ledger = AuditLedger(session)
        entries = await ledger.entries(limit=100)
        verified = await ledger.verify()
        letters = {d.outbox_id: d.reason for d in await DeadLetterRepository(session).list()}
    assert statuses.pop("synthetic-n-7") is NotificationStatus.DEAD
    assert set(statuses.values()) == {NotificationStatus.DELIVERED}
    assert [len(r) for r in receipts] == [0 if n.id == "synthetic-n-7" else 1 for n in notes]
    shares = [e.subject for e in entries if e.action == "share"]
    assert shares == [f"notification:{n.id}" for n in notes if n.id != "synthetic-n-7"]
    # Rows delivered before the withheld one were committed before it was settled: the ledger
    # is in delivery order, so a failure never holds back what went before it.
    assert [e.subject for e in entries] == [f"notification:{n.id}" for n in notes]
    assert entries[6].action == "withhold"
    assert verified.ok and verified.checked == 30  # 29 shares and one withhold
    assert "does not exist" in letters[orphan.item.id]


class BatchVendorAdapter(VendorAdapter):
    """A write-back receiver that notes each call and refuses marks of learner 3; it fails
    `failures_left` calls first (a vendor outage)."""

    manifest = AdapterManifest(
        name="batch-vendor",
        display_name="Synthetic MIS",
        capabilities=frozenset({Capability.WRITE_MARKS}),
        config_model=VendorConfig,
    )
    writes: ClassVar[list[tuple[str, list[str]]]] = []
    failures_left: ClassVar[int] = 0

    async def write_marks(
        self, batch: Sequence[AttendanceMark], idempotency_key: str
    ) -> WriteResult:
        BatchVendorAdapter.writes.append((idempotency_key, [m.upn for m in batch]))
        if BatchVendorAdapter.failures_left > 0:
            BatchVendorAdapter.failures_left -= 1
            raise TransientError("synthetic outage")
        return WriteResult(
            [
                RecordOutcome(i, m.upn != _upn(3), None if m.upn != _upn(3) else "refused")
                for i, m in enumerate(batch)
            ]
        )


def _upn(n: int) -> str:
    from tests.engine.conftest import upn

    return upn(n)


async def _write_backs(  # type: ignore[no-untyped-def]
    sessions: Sessions, kit: Any, now: dt.datetime, *groups: Sequence[int], first: int = 0
):
    """One write-back row per group of learners (one D each), in order; returns the rows."""
    items = []
    async with sessions.begin() as session:
        for n, group in enumerate(groups, start=first):
            marks = [
                AttendanceMark(
                    upn=kit.upn(i),
                    setting_id=kit.SETTING_ID,
                    date=dt.date(2025, 1, 6),
                    session="AM",
                    code="D",
                    source="hub",
                    recorded_at=now,
                )  # type: ignore[arg-type]
                for i in group
            ]
            enqueued = await enqueue_write_marks(
                session, "mis", marks, now=now, ref=f"disc-{n}", key=f"disc-{n}"
            )
            items.append(enqueued.item)
    return items


async def test_write_backs_claimed_together_go_one_by_one_under_their_own_keys(
    database_url: str, sessions: Sessions, kit: Any, plugins_with: Any, clock: Any
) -> None:
    """Issue 9: write-back rows claimed together are committed together, but each still goes
    in its own call under its own idempotency key — so a retry after an ambiguous failure is
    the same request, whatever else is due by then — with its own receipt and ledger entry."""
    BatchVendorAdapter.writes, BatchVendorAdapter.failures_left = [], 3
    settings = kit.settings(database_url, connections=[{"name": "mis", "plugin": "batch-vendor"}])
    destinations = kit.destinations(settings, plugins_with(BatchVendorAdapter))
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    rows = await _write_backs(sessions, kit, clock.now, [1], [2, 3], [4])

    first = await dispatcher.dispatch_once()
    assert (first.claimed, first.retried, first.delivered) == (3, 3, 0)
    for row in rows:
        again = await _row(sessions, row.idempotency_key)
        assert again.status is OutboxStatus.PENDING and "synthetic outage" in again.last_error
    late = await _write_backs(sessions, kit, clock.now, [5], first=3)  # due with the retries
    clock.advance(3600)
    second = await dispatcher.dispatch_once()
    await destinations.close()

    assert (second.claimed, second.delivered) == (4, 4)
    keys = [r.idempotency_key for r in rows]
    assert BatchVendorAdapter.writes[:3] == [
        (keys[0], [kit.upn(1)]),
        (keys[1], [kit.upn(2), kit.upn(3)]),
        (keys[2], [kit.upn(4)]),
    ]
    # The retries are the same requests: each row's key with each row's marks.
    assert sorted(BatchVendorAdapter.writes[3:]) == sorted(
        [*BatchVendorAdapter.writes[:3], (late[0].idempotency_key, [kit.upn(5)])]
    )
    async with sessions() as session:
        receipts = {
            n: await DeliveryReceiptRepository(session).for_notification(f"disc-{n}")
            for n in range(3)
        }
        ledger = AuditLedger(session)
        entries = await ledger.entries()
        verified = await ledger.verify()
    assert [json.loads(receipts[n][0].detail or "") for n in range(3)] == [
        {"accepted": 1, "rejected": []},
        {"accepted": 1, "rejected": [{"index": 1, "error": "refused"}]},
        {"accepted": 1, "rejected": []},
    ]
    assert [r[0].idempotency_key for r in receipts.values()] == keys
    assert sorted(e.subject for e in entries) == sorted(f"outbox:{r.id}" for r in [*rows, *late])
    assert verified.ok and verified.checked == 4


async def test_a_bad_or_withheld_write_back_is_settled_on_its_own_and_the_rest_go(
    database_url: str, sessions: Sessions, kit: Any, plugins_with: Any, clock: Any
) -> None:
    BatchVendorAdapter.writes, BatchVendorAdapter.failures_left = [], 0
    settings = kit.settings(database_url, connections=[{"name": "mis", "plugin": "batch-vendor"}])
    destinations = kit.destinations(settings, plugins_with(BatchVendorAdapter))
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    async with sessions.begin() as session:
        # Learner 2's record says this setting must not receive their data.
        barred = kit.learner(2).model_copy(update={"sharing_restrictions": [kit.SETTING_ID]})
        await LearnerRepository(session).upsert(barred)
    rows = await _write_backs(sessions, kit, clock.now, [1], [2], [4])
    async with sessions.begin() as session:
        bad = await OutboxRepository(session).enqueue(
            "write_marks",
            {"marks": [{"upn": "not-a-upn"}]},
            "write_marks:mis:bad",
            now=clock.now,
            connection="mis",
        )

    summary = await dispatcher.dispatch_once()
    await destinations.close()

    assert (summary.claimed, summary.delivered, summary.dead) == (4, 2, 2)
    assert [upns for _, upns in BatchVendorAdapter.writes] == [[kit.upn(1)], [kit.upn(4)]]
    async with sessions() as session:
        letters = {d.outbox_id: d.reason for d in await DeadLetterRepository(session).list()}
        withheld = [e for e in await AuditLedger(session).entries() if e.action == "withhold"]
    assert letters[rows[1].id].startswith("withheld: the learner's sharing_restrictions")
    assert "invalid mark" in letters[bad.item.id]
    assert [e.subject for e in withheld] == [f"outbox:{rows[1].id}"]


# --- routing ---------------------------------------------------------------------------------


def test_routes_match_kind_and_la_in_order_once_each(kit: Any) -> None:
    settings = kit.settings(
        "sqlite+aiosqlite:///unused.db",
        connections=[
            {"name": "a", "plugin": "webhook"},
            {"name": "b", "plugin": "webhook"},
            {"name": "c", "plugin": "webhook"},
        ],
        routes=[
            {"kind": "cme_referral", "connections": ["b", "a"]},
            {"kind": "cme_referral", "la_code": "999", "connections": ["a", "c"]},
            {"kind": "cme_referral", "la_code": "998", "connections": ["c"]},
            {"kind": "deletion_return", "connections": ["c"]},
        ],
    )
    referral = kit.notification(1, kind=NotificationKind.CME_REFERRAL)
    assert route_notification(settings, referral, "999") == ["b", "a", "c"]
    assert route_notification(settings, referral, "997") == ["b", "a"]
    assert route_notification(settings, kit.notification(2), None) == ["c"]
    absence = kit.notification(3, kind=NotificationKind.ABSENCE_RETURN)
    assert route_notification(settings, absence, "999") == []


async def test_a_notification_to_two_connections_is_delivered_when_both_are(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any, clock: Any
) -> None:
    settings = kit.settings(
        database_url,
        webhook_url=receiver.url,
        connections=[
            {
                "name": "la-hook-2",
                "plugin": "webhook",
                "url": receiver.url,
                "secret": "env:HUB_TEST_WEBHOOK_SECRET",
            }
        ],
        routes=[{"kind": "deletion_return", "connections": ["la-hook", "la-hook-2"]}],
    )
    notification = kit.notification(20)
    receiver.status_for[notification_key(notification.id, "la-hook-2")] = 503
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    await _enqueue(sessions, settings, notification)
    assert (await dispatcher.dispatch_once()).claimed == 2
    assert (await _notification(sessions, notification.id)).status is NotificationStatus.FAILED

    receiver.status_for.clear()
    clock.advance(3600)
    assert (await dispatcher.dispatch_once()).delivered == 1
    await destinations.close()
    assert (await _notification(sessions, notification.id)).status is NotificationStatus.DELIVERED


# --- concurrency and shutdown ----------------------------------------------------------------


async def test_two_dispatchers_never_deliver_the_same_row_twice(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any
) -> None:
    settings = kit.settings(database_url, webhook_url=receiver.url, outbox={"batch_size": 3})
    notifications = [kit.notification(100 + i) for i in range(24)]
    await _enqueue(sessions, settings, *notifications)
    plugins = plugins_with()
    workers = [
        kit.dispatcher(settings, sessions, kit.destinations(settings, plugins), owner=name)
        for name in ("worker-a", "worker-b")
    ]

    async def drain(dispatcher: Any) -> int:
        delivered = 0
        for _ in range(50):
            summary = await dispatcher.dispatch_once()
            delivered += summary.delivered
            if summary.claimed == 0:
                return delivered
        raise AssertionError("outbox did not drain in 50 passes")

    counts = await asyncio.gather(*(drain(w) for w in workers))
    for w in workers:
        await w.destinations.close()

    assert sum(counts) == 24
    assert len(receiver.seen) == 24, "a row was delivered twice"
    assert all(receiver.requests_for(notification_key(n.id, "la-hook")) == 1 for n in notifications)
    async with sessions() as session:
        assert await OutboxRepository(session).count(status=OutboxStatus.DELIVERED) == 24
        assert (await AuditLedger(session).verify()).checked == 24


async def test_stop_lets_the_delivery_in_flight_finish_and_releases_the_rest(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any
) -> None:
    receiver.hang_on_apply = 1
    settings = kit.settings(database_url, webhook_url=receiver.url)
    notifications = [kit.notification(200 + i) for i in range(3)]
    await _enqueue(sessions, settings, *notifications)
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations)
    stop = asyncio.Event()

    async with asyncio.timeout(30):
        async with asyncio.TaskGroup() as tg:
            tg.create_task(dispatcher.run(stop))
            await receiver.hung.wait()
            stop.set()
            receiver.release.set()
    await destinations.close()

    first, *rest = [await _row(sessions, notification_key(n.id, "la-hook")) for n in notifications]
    assert first.status is OutboxStatus.DELIVERED
    assert all(
        (r.status, r.lease_owner, r.attempts) == (OutboxStatus.PENDING, None, 0) for r in rest
    ), rest
    assert len(receiver.seen) == 1


async def test_run_wakes_up_for_new_rows_and_stops_cleanly(
    database_url: str, sessions: Sessions, receiver: Any, kit: Any, plugins_with: Any
) -> None:
    settings = kit.settings(
        database_url, webhook_url=receiver.url, outbox={"poll_interval_seconds": 3600}
    )
    destinations = kit.destinations(settings, plugins_with())
    dispatcher = kit.dispatcher(settings, sessions, destinations)
    stop, wakeup = asyncio.Event(), asyncio.Event()

    async with asyncio.timeout(30):
        async with asyncio.TaskGroup() as tg:
            tg.create_task(dispatcher.run(stop, wakeup=wakeup))
            await asyncio.sleep(0.05)  # the dispatcher is now idle until woken
            await _enqueue(sessions, settings, kit.notification(300))
            wakeup.set()
            await receiver.arrived.wait()
            stop.set()
    await destinations.close()
    assert receiver.applied_per_notification["synthetic-n-300"] == 1


async def test_a_garbled_reply_is_retried_before_it_becomes_a_dead_letter(
    database_url: str, sessions: Sessions, kit: Any, plugins_with: Any, clock: Any
) -> None:
    # Found by the crash soak: a truncated / non-JSON 200 is usually a transport fault, and
    # the retry carries the same idempotency key, so it is retried like a transient failure.
    settings = kit.settings(
        database_url,
        connections=[{"name": "vendor-a", "plugin": "vendor"}],
        routes=[{"kind": "deletion_return", "connections": ["vendor-a"]}],
        outbox={"max_attempts": 3},
    )
    destinations = kit.destinations(settings, plugins_with(VendorAdapter))
    dispatcher = kit.dispatcher(settings, sessions, destinations, clock=clock)
    recovers = kit.notification(20, payload={"garbled": True})
    stays_garbled = kit.notification(21, payload={"garbled": True})

    VendorAdapter.calls, VendorAdapter.garbled_left = [], 2
    await _enqueue(sessions, settings, recovers)
    outcomes = []
    for _ in range(3):
        summary = await dispatcher.dispatch_once()
        outcomes.append((summary.retried, summary.delivered, summary.dead))
        clock.advance(3600)
    assert outcomes == [(1, 0, 0), (1, 0, 0), (0, 1, 0)]

    VendorAdapter.garbled_left = 100
    await _enqueue(sessions, settings, stays_garbled)
    outcomes = []
    for _ in range(3):
        summary = await dispatcher.dispatch_once()
        outcomes.append((summary.retried, summary.dead))
        clock.advance(3600)
    await destinations.close()
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    async with sessions() as session:
        (letter,) = await DeadLetterRepository(session).list()
    assert letter.reason.startswith("gave up after 3 attempts; last error: ContractViolation")
