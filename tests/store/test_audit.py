"""The audit ledger is hash-chained: verify passes, and names the first tampered entry."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store import AuditLedger
from hub.store.audit import GENESIS_HASH
from hub.store.models import AuditEntryRow

NOW = dt.datetime(2025, 1, 6, 9, 0, 0, 123456, tzinfo=dt.UTC)


async def _ledger_with(session: AsyncSession, n: int) -> AuditLedger:
    ledger = AuditLedger(session)
    for i in range(n):
        await ledger.append(
            "engine",
            "share",
            f"notification:{i}",
            {"to": "la-999", "lawful_basis": "Wales reg 12(3)", "n": i, "ratio": 0.1 * i},
            at=NOW + dt.timedelta(seconds=i),
        )
    await session.commit()
    return ledger


async def test_chain_links_and_verifies(session: AsyncSession) -> None:
    ledger = await _ledger_with(session, 5)

    entries = await ledger.entries()

    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert entries[0].at == NOW
    result = await ledger.verify()
    assert (result.ok, result.first_bad_seq, result.checked) == (True, None, 5)


async def test_empty_ledger_verifies(session: AsyncSession) -> None:
    result = await AuditLedger(session).verify()
    assert (result.ok, result.checked) == (True, 0)


async def test_tampered_detail_is_detected_at_its_seq(session: AsyncSession) -> None:
    ledger = await _ledger_with(session, 5)
    await session.execute(
        update(AuditEntryRow.__table__)
        .where(AuditEntryRow.__table__.c.seq == 3)
        .values(detail={"to": "someone-else"})
    )
    await session.commit()

    result = await ledger.verify()

    assert (result.ok, result.first_bad_seq, result.checked) == (False, 3, 3)


async def test_deleted_entry_is_detected(session: AsyncSession) -> None:
    ledger = await _ledger_with(session, 4)
    await session.execute(delete(AuditEntryRow.__table__).where(AuditEntryRow.__table__.c.seq == 2))

    result = await ledger.verify()

    assert (result.ok, result.first_bad_seq) == (False, 3)


async def test_detail_must_be_json(session: AsyncSession) -> None:
    with pytest.raises(TypeError):
        await AuditLedger(session).append("engine", "share", "x", {"when": NOW}, at=NOW)
