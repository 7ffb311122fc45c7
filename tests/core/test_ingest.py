"""The ingest path (DESIGN §3): marks only from a registering setting or a placement's provider,
only with a code in force; rejects quarantined raw with field and reason; rules run on changes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.ingest import ingest_marks, ingest_reference
from hub.store import MarkKey, QuarantineRepository
from hub_contracts import (
    EotasPlacement,
    Learner,
    Registration,
    Setting,
    make_upn,
)

NOW = dt.datetime(2025, 11, 3, 9, 30, tzinfo=dt.UTC)
DAY = dt.date(2025, 11, 3)
UPN = make_upn("999200125001")
OTHER = make_upn("999200125002")
WALES = Setting(
    id="9992001",
    name="Ysgol Enghraifft (synthetic)",
    kind="mainstream",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=True,
)  # type: ignore[arg-type]
PROVIDER = Setting(
    id="9997001",
    name="Darparwr (synthetic)",
    kind="eotas_provider",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=False,
)  # type: ignore[arg-type]


class RecordingRules:
    def __init__(self) -> None:
        self.calls: list[tuple[MarkKey, ...]] = []

    async def after_marks(
        self, session: AsyncSession, changed: Sequence[MarkKey], *, now: dt.datetime
    ) -> None:
        self.calls.append(tuple(changed))


def mark(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "upn": UPN,
        "setting_id": WALES.id,
        "date": DAY.isoformat(),
        "session": "AM",
        "code": "/",
        "source": "test",
        "recorded_at": NOW.isoformat(),
    }
    return {**body, **overrides}


async def _seed(session: AsyncSession) -> None:
    learners = [
        Learner(
            upn=u, given_name="Synthetic", family_name="Prawf", date_of_birth=dt.date(2015, 1, 1)
        )
        for u in (UPN, OTHER)
    ]
    await ingest_reference(
        session,
        [
            WALES,
            PROVIDER,
            *learners,
            Registration(
                upn=UPN,
                setting_id=WALES.id,
                status="single",  # type: ignore[arg-type]
                start_date=dt.date(2025, 9, 1),
            ),
            EotasPlacement(
                upn=UPN, school_id=WALES.id, provider_id=PROVIDER.id, start_date=dt.date(2025, 9, 1)
            ),
        ],
        now=NOW,
    )


async def test_good_and_bad_marks_in_one_batch(session: AsyncSession) -> None:
    await _seed(session)
    rules = RecordingRules()
    batch = [
        mark(),  # 0 accepted
        mark(upn="A999200125001"),  # 1 bad check letter
        mark(setting_id="9999999"),  # 2 unknown setting
        mark(upn=OTHER),  # 3 not on roll
        mark(session="PM", code="K"),  # 4 K not a Welsh code
        mark(setting_id=PROVIDER.id, code="/"),  # 5 provider report: accepted
        mark(date="2025-08-29"),  # 6 before registration
    ]
    result = await ingest_marks(session, batch, source="test", now=NOW, rules=rules)

    assert result.accepted == 2
    got = {r.index: (r.field, r.code) for r in result.rejected}
    assert got == {
        1: ("upn", "invalid"),
        2: ("setting_id", "unknown_setting"),
        3: ("setting_id", "not_registered"),
        4: ("code", "code_not_in_force"),
        6: ("setting_id", "not_registered"),
    }
    assert "wales-2010" in next(r.message for r in result.rejected if r.index == 4)
    assert rules.calls == [
        (MarkKey(UPN, WALES.id, DAY, "AM"), MarkKey(UPN, PROVIDER.id, DAY, "AM"))
    ]  # type: ignore[arg-type]

    quarantined = await QuarantineRepository(session).list(source="test")
    assert len(quarantined) == 5
    raw = {json.loads(q.raw_payload)["setting_id"] for q in quarantined}
    assert "9999999" in raw


async def test_identical_resend_changes_nothing_and_runs_no_rules(session: AsyncSession) -> None:
    await _seed(session)
    rules = RecordingRules()
    await ingest_marks(session, [mark()], source="test", now=NOW, rules=rules)
    again = await ingest_marks(session, [mark()], source="test", now=NOW, rules=rules)
    assert again.accepted == 1
    assert again.upsert.unchanged == 1
    assert len(rules.calls) == 1


async def test_non_mapping_payload_is_rejected_not_crashed(session: AsyncSession) -> None:
    await _seed(session)
    result = await ingest_marks(session, ["not a mark", 42], source="test", now=NOW)  # type: ignore[list-item]
    assert [r.code for r in result.rejected] == ["invalid", "invalid"]
    assert result.accepted == 0
