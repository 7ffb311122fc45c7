"""Records that fail validation are kept verbatim for an operator."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from hub.store import QuarantineRepository

NOW = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)


async def test_add_and_list_newest_first(session: AsyncSession) -> None:
    quarantine = QuarantineRepository(session)
    raw = '{"upn": "NOT-A-UPN", "code": "?"}'

    first = await quarantine.add(
        "sims-a", reason="bad check letter", field="upn", raw_payload=raw, received_at=NOW
    )
    second = await quarantine.add(
        "one-la", reason="not JSON", raw_payload="<html>", received_at=NOW + dt.timedelta(seconds=1)
    )

    listed = await quarantine.list()
    assert [r.id for r in listed] == [second, first]
    only_sims = await quarantine.list(source="sims-a")
    assert [(r.source, r.reason, r.field, r.raw_payload, r.received_at) for r in only_sims] == [
        ("sims-a", "bad check letter", "upn", raw, NOW)
    ]
    assert (await quarantine.count(), await quarantine.count(source="one-la")) == (2, 1)
