"""Sync cursors commit with the page they belong to; one leader lease per connection."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.store import CursorRepository, OutboxRepository

NOW = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)


async def test_cursor_roundtrip_and_overwrite(session: AsyncSession) -> None:
    cursors = CursorRepository(session)
    assert await cursors.get("sims-a", "marks") is None

    await cursors.set("sims-a", "marks", json.dumps({"since": "2025-01-06"}), now=NOW)
    await cursors.set("sims-a", "roll", "page-7", now=NOW)
    later = NOW + dt.timedelta(minutes=5)
    await cursors.set("sims-a", "marks", json.dumps({"since": "2025-01-07"}), now=later)

    assert json.loads(await cursors.get("sims-a", "marks") or "") == {"since": "2025-01-07"}
    states = await cursors.states("sims-a")
    assert [(s.stream, s.cursor, s.updated_at) for s in states] == [
        ("marks", '{"since": "2025-01-07"}', later),
        ("roll", "page-7", NOW),
    ]


async def test_cursor_rolls_back_with_the_page(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await CursorRepository(session).set("sims-a", "marks", "page-1", now=NOW)
        await session.commit()

        await OutboxRepository(session).enqueue("write_marks", {}, "page-2-effect", now=NOW)
        await CursorRepository(session).set("sims-a", "marks", "page-2", now=NOW)
        await session.rollback()  # the page failed: neither its effects nor its cursor stay

    async with sessions() as session:
        assert await CursorRepository(session).get("sims-a", "marks") == "page-1"
        assert await OutboxRepository(session).count() == 0


async def test_one_leader_per_connection(session: AsyncSession) -> None:
    cursors = CursorRepository(session)

    assert await cursors.acquire_lease("sims-a", "host-1", lease_seconds=60, now=NOW)
    assert not await cursors.acquire_lease("sims-a", "host-2", lease_seconds=60, now=NOW)
    assert await cursors.acquire_lease("one-la", "host-2", lease_seconds=60, now=NOW)
    # The leader renews; after expiry anyone may take over.
    renewed_at = NOW + dt.timedelta(seconds=30)
    assert await cursors.acquire_lease("sims-a", "host-1", lease_seconds=60, now=renewed_at)
    expired = renewed_at + dt.timedelta(seconds=61)
    assert not await cursors.acquire_lease(
        "sims-a", "host-2", lease_seconds=60, now=expired - dt.timedelta(seconds=2)
    )
    assert await cursors.acquire_lease("sims-a", "host-2", lease_seconds=60, now=expired)

    lease = await cursors.lease("sims-a")
    assert lease is not None
    assert (lease.owner, lease.lease_until) == ("host-2", expired + dt.timedelta(seconds=60))
    assert not await cursors.release_lease("sims-a", "host-1")
    assert await cursors.release_lease("sims-a", "host-2")
    assert await cursors.lease("sims-a") is None
