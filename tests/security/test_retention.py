"""Retention (`hub purge --before DATE`, `hub.retention`): removes what the policy allows, keeps
the statutory register and the audit ledger, minimises delivered notifications' payloads, and
records itself in the ledger. On SQLite and PostgreSQL (the deletes are dialect-sensitive)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.retention import AUDIT_ACTION, PurgeCounts, cutoff_of, parse_before, purge
from hub.store import (
    AuditLedger,
    DeadLetterRepository,
    MarkRepository,
    NotificationRepository,
    OutboxRepository,
    QuarantineRepository,
    SettingRepository,
)
from hub.store.models import DeadLetterRow, MarkRow, OutboxRow, QuarantineRow
from hub_contracts import AttendanceMark, Notification, NotificationKind, NotificationStatus
from tests.api.conftest import SCHOOL_A, UPN_A, mark_body

BEFORE = dt.date(2025, 3, 1)
OLD = dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC)
NEW = dt.datetime(2025, 6, 10, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC)
ADDRESS = "5 Heol Dros Dro, Synthetic Town"


async def _delivered_row(session: AsyncSession, key: str, at: dt.datetime) -> int:
    outbox = OutboxRepository(session)
    item = (await outbox.enqueue("notification", {"notification_id": key}, key, now=at)).item
    await outbox.claim_due("w", limit=100, lease_seconds=60, now=at)
    assert await outbox.mark_delivered(item.id, "w", now=at)
    return item.id


async def _dead_row(session: AsyncSession, key: str, at: dt.datetime) -> int:
    outbox = OutboxRepository(session)
    item = (await outbox.enqueue("notification", {"notification_id": key}, key, now=at)).item
    await outbox.to_dead_letter(item.id, None, reason="synthetic failure", now=at)
    return item.id


async def _notification(
    session: AsyncSession, ident: str, *, delivered_at: dt.datetime | None
) -> None:
    repo = NotificationRepository(session)
    await repo.add(
        Notification(
            id=ident,
            kind=NotificationKind.CME_REFERRAL,
            upn=UPN_A,
            recipient="la:999:cme",
            created_at=OLD,
            payload={
                "upn": UPN_A,
                "full_name": "Synthetic Learner",
                "address": ADDRESS,
                "setting_id": SCHOOL_A.id,
                "school_days_absent": 10,
            },
        )
    )
    if delivered_at is not None:
        await repo.set_status(ident, NotificationStatus.DELIVERED, delivered_at=delivered_at)


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await SettingRepository(session).upsert(SCHOOL_A)
        quarantine = QuarantineRepository(session)
        for at in (OLD, NEW):
            await quarantine.add(
                "api", reason="invalid: synthetic", raw_payload="{}", received_at=at
            )
        await _delivered_row(session, "delivered-old", OLD)
        await _delivered_row(session, "delivered-new", NEW)
        await OutboxRepository(session).enqueue("notification", {}, "pending-old", now=OLD)
        await _dead_row(session, "dead-old", OLD)
        await _dead_row(session, "dead-new", NEW)
        await _notification(session, "ntf-delivered-old", delivered_at=OLD)
        await _notification(session, "ntf-delivered-new", delivered_at=NEW)
        await _notification(session, "ntf-pending-old", delivered_at=None)
        mark = AttendanceMark.model_validate(
            mark_body(UPN_A, SCHOOL_A.id, day=OLD.date(), recorded_at=OLD)
        )
        await MarkRepository(session).upsert_many([mark], received_at=OLD)
        await AuditLedger(session).append("test", "share", "synthetic", {"n": 1}, at=OLD)


async def _count(session: AsyncSession, model: type) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


EXPECTED = PurgeCounts(
    quarantine=1, outbox_delivered=1, dead_letters=1, outbox_dead=1, notification_payloads=1
)


async def test_purge_removes_what_the_policy_allows_and_keeps_the_rest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)

    async with sessions.begin() as session:
        counts = await purge(session, before=BEFORE, now=NOW)

    assert counts == EXPECTED
    async with sessions() as session:
        assert [r.received_at for r in await QuarantineRepository(session).list()] == [NEW]
        keys = {i.idempotency_key for i in await OutboxRepository(session).list()}
        assert keys == {"delivered-new", "pending-old", "dead-new"}
        letters = await DeadLetterRepository(session).list(include_replayed=True)
        assert [letter.created_at for letter in letters] == [NEW]
        notifications = NotificationRepository(session)
        old = await notifications.get("ntf-delivered-old")
        assert old is not None and old.status is NotificationStatus.DELIVERED
        assert set(old.payload) == {"setting_id", "purged_at"}, "payload not minimised"
        for kept in ("ntf-delivered-new", "ntf-pending-old"):
            found = await notifications.get(kept)
            assert found is not None and found.payload["address"] == ADDRESS
        assert await _count(session, MarkRow) == 1, "marks are the statutory register"
        ledger = AuditLedger(session)
        assert (await ledger.verify()).ok
        entries = await ledger.entries()
        assert [e.action for e in entries] == ["share", AUDIT_ACTION]
        assert entries[-1].detail["counts"] == EXPECTED.as_dict()
        assert entries[-1].detail["cutoff"] == cutoff_of(BEFORE).isoformat()

    async with sessions.begin() as session:
        assert (await purge(session, before=BEFORE, now=NOW)).total == 0, "not idempotent"


async def test_a_dry_run_counts_and_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)
    async with sessions() as session:
        before = [await _count(session, m) for m in (QuarantineRow, OutboxRow, DeadLetterRow)]
    async with sessions() as session:
        transaction = await session.begin()
        counts = await purge(session, before=BEFORE, now=NOW, dry_run=True)
        await transaction.rollback()
    assert counts == EXPECTED
    async with sessions() as session:
        after = [await _count(session, m) for m in (QuarantineRow, OutboxRow, DeadLetterRow)]
        assert after == before
        assert [e.action for e in await AuditLedger(session).entries()] == ["share"]


def test_the_cutoff_is_midnight_in_england_and_wales() -> None:
    assert cutoff_of(dt.date(2025, 7, 1)) == dt.datetime(2025, 6, 30, 23, 0, tzinfo=dt.UTC)
    assert cutoff_of(dt.date(2025, 1, 1)) == dt.datetime(2025, 1, 1, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("2025-13-01", "not a date"), ("yesterday", "not a date"), ("2999-01-01", "future")],
)
def test_before_must_be_a_date_no_later_than_today(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_before(text, today=dt.date(2025, 7, 1))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_purge_command(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _seed(sessions)
    hub = Path(sys.executable).with_name("hub")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATABASE_URL"] = database_url

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(hub), "purge", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    bad = await asyncio.to_thread(run, "--before", "2025-02-30")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "hub: --before: '2025-02-30' is not a date (use YYYY-MM-DD)"
    ]

    dry = await asyncio.to_thread(run, "--before", BEFORE.isoformat(), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove 1 quarantined records" in dry.stdout

    done = await asyncio.to_thread(run, "--before", BEFORE.isoformat())
    assert done.returncode == 0, done.stderr
    assert "removed 1 quarantined records" in done.stdout
    assert "recorded in the audit ledger" in done.stdout
    async with sessions() as session:
        assert await _count(session, QuarantineRow) == 1
        assert (await AuditLedger(session).head()).action == AUDIT_ACTION  # type: ignore[union-attr]
