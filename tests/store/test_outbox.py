"""Outbox: idempotent enqueue, leased claims, retries, dead letters and replay."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.store import (
    ConflictError,
    DeadLetterRepository,
    NotFoundError,
    OutboxItem,
    OutboxRepository,
    OutboxStatus,
)

NOW = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
LEASE = 30.0


async def _enqueue(session: AsyncSession, n: int, *, now: dt.datetime = NOW) -> None:
    outbox = OutboxRepository(session)
    for i in range(n):
        await outbox.enqueue("write_marks", {"i": i}, f"key-{i}", now=now, connection="sims-a")
    await session.commit()


async def test_enqueue_twice_with_one_key_keeps_one_row(session: AsyncSession) -> None:
    outbox = OutboxRepository(session)

    first = await outbox.enqueue(
        "deletion_return", {"upn": "x"}, "notif-1", now=NOW, recipient="la-999"
    )
    second = await outbox.enqueue("deletion_return", {"upn": "changed"}, "notif-1", now=NOW)

    assert (first.created, second.created) == (True, False)
    assert second.item == first.item
    assert second.item.payload == {"upn": "x"}
    assert await outbox.count() == 1
    assert first.item.status is OutboxStatus.PENDING
    assert (first.item.attempts, first.item.recipient) == (0, "la-999")


async def test_claim_leases_due_rows_in_order(session: AsyncSession) -> None:
    outbox = OutboxRepository(session)
    await outbox.enqueue("k", {}, "later", now=NOW, not_before=NOW + dt.timedelta(hours=1))
    await outbox.enqueue("k", {}, "first", now=NOW - dt.timedelta(minutes=2))
    await outbox.enqueue("k", {}, "second", now=NOW - dt.timedelta(minutes=1))

    claimed = await outbox.claim_due("worker-a", limit=10, lease_seconds=LEASE, now=NOW)

    assert [i.idempotency_key for i in claimed] == ["first", "second"]
    assert all(i.lease_owner == "worker-a" for i in claimed)
    assert all(i.lease_until == NOW + dt.timedelta(seconds=LEASE) for i in claimed)
    assert all(i.attempts == 1 for i in claimed)
    assert await outbox.claim_due("worker-b", limit=10, lease_seconds=LEASE, now=NOW) == []


async def test_concurrent_claimers_never_share_a_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as setup:
        await _enqueue(setup, 40)

    async def claim(owner: str) -> list[OutboxItem]:
        got: list[OutboxItem] = []
        async with sessions() as session:
            while batch := await OutboxRepository(session).claim_due(
                owner, limit=3, lease_seconds=LEASE, now=NOW
            ):
                await session.commit()
                got.extend(batch)
                await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*(claim(f"worker-{n}") for n in range(4)))

    ids = [item.id for items in results for item in items]
    assert len(ids) == 40
    assert len(set(ids)) == 40


async def test_claim_skips_rows_locked_by_an_open_claim(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: a second claim waits for the first to commit")
    async with sessions() as setup:
        await _enqueue(setup, 4)
    async with sessions() as first, sessions() as second:
        a = await OutboxRepository(first).claim_due("a", limit=2, lease_seconds=LEASE, now=NOW)
        # Not committed yet: SKIP LOCKED moves past a's rows instead of waiting for them.
        b = await OutboxRepository(second).claim_due("b", limit=10, lease_seconds=LEASE, now=NOW)
        await first.commit()
        await second.commit()
    assert {i.id for i in a}.isdisjoint({i.id for i in b})
    assert len(a) + len(b) == 4


async def test_expired_lease_is_reclaimed(session: AsyncSession) -> None:
    await _enqueue(session, 1)
    outbox = OutboxRepository(session)
    (first,) = await outbox.claim_due("crashed", limit=1, lease_seconds=LEASE, now=NOW)

    during = await outbox.claim_due(
        "other", limit=1, lease_seconds=LEASE, now=NOW + dt.timedelta(seconds=LEASE - 1)
    )
    after = await outbox.claim_due(
        "other", limit=1, lease_seconds=LEASE, now=NOW + dt.timedelta(seconds=LEASE + 1)
    )

    assert during == []
    assert [(i.id, i.lease_owner, i.attempts) for i in after] == [(first.id, "other", 2)]
    # The crashed owner lost the row: its late report is refused.
    assert not await outbox.mark_delivered(first.id, "crashed", now=NOW)


async def test_delivered_and_failed_rows(session: AsyncSession) -> None:
    await _enqueue(session, 2)
    outbox = OutboxRepository(session)
    done, flaky = await outbox.claim_due("w", limit=2, lease_seconds=LEASE, now=NOW)
    retry_at = NOW + dt.timedelta(minutes=5)

    assert await outbox.mark_delivered(done.id, "w", now=NOW)
    assert await outbox.mark_failed(flaky.id, "w", error="HTTP 503", retry_at=retry_at)

    delivered = await outbox.get(done.id)
    failed = await outbox.get(flaky.id)
    assert delivered is not None and failed is not None
    assert (delivered.status, delivered.delivered_at, delivered.lease_owner) == (
        OutboxStatus.DELIVERED,
        NOW,
        None,
    )
    assert (failed.status, failed.last_error, failed.next_attempt_at) == (
        OutboxStatus.PENDING,
        "HTTP 503",
        retry_at,
    )
    assert await outbox.claim_due("w", limit=5, lease_seconds=LEASE, now=NOW) == []
    again = await outbox.claim_due("w", limit=5, lease_seconds=LEASE, now=retry_at)
    assert [(i.id, i.attempts) for i in again] == [(flaky.id, 2)]
    assert await outbox.count(status=OutboxStatus.DELIVERED) == 1


async def test_release_gives_back_unstarted_claims(session: AsyncSession) -> None:
    await _enqueue(session, 3)
    outbox = OutboxRepository(session)
    await outbox.claim_due("stopping", limit=3, lease_seconds=LEASE, now=NOW)

    released = await outbox.release("stopping")
    reclaimed = await outbox.claim_due("next", limit=3, lease_seconds=LEASE, now=NOW)

    assert released == 3
    assert [i.attempts for i in reclaimed] == [1, 1, 1]


async def test_dead_letter_and_replay(session: AsyncSession) -> None:
    await _enqueue(session, 1)
    outbox = OutboxRepository(session)
    letters = DeadLetterRepository(session)
    (item,) = await outbox.claim_due("w", limit=1, lease_seconds=LEASE, now=NOW)

    letter_id = await outbox.to_dead_letter(item.id, "w", reason="HTTP 422: unknown UPN", now=NOW)

    dead = await outbox.get(item.id)
    assert dead is not None and dead.status is OutboxStatus.DEAD
    assert await outbox.claim_due("w", limit=1, lease_seconds=LEASE, now=NOW) == []
    (letter,) = await letters.list()
    assert (letter.id, letter.outbox_id, letter.reason) == (letter_id, item.id, dead.last_error)
    assert letter.payload == item.payload

    later = NOW + dt.timedelta(hours=1)
    replayed = await letters.replay(letter_id, now=later)

    assert (replayed.id, replayed.status, replayed.attempts) == (item.id, OutboxStatus.PENDING, 0)
    assert replayed.idempotency_key == item.idempotency_key
    assert await letters.list() == []
    (kept,) = await letters.list(include_replayed=True)
    assert kept.replayed_at == later
    claimed = await outbox.claim_due("w", limit=1, lease_seconds=LEASE, now=later)
    assert [i.id for i in claimed] == [item.id]
    with pytest.raises(ConflictError):
        await letters.replay(letter_id, now=later)
    with pytest.raises(NotFoundError):
        await letters.replay(letter_id + 1000, now=later)


async def test_operator_can_dead_letter_without_a_lease(session: AsyncSession) -> None:
    await _enqueue(session, 1)
    outbox = OutboxRepository(session)
    (item,) = await outbox.list()

    await outbox.to_dead_letter(item.id, None, reason="cancelled by operator", now=NOW)

    with pytest.raises(ConflictError):
        await outbox.to_dead_letter(item.id, None, reason="twice", now=NOW)
