"""The ingest path's fast paths (docs/performance.md) change cost, never results.

- The reconciliation pre-filter skips sessions involving one setting unless its code is one of
  `SOLO_FINDING_CODES`: checked here against `reconcile_session` itself, for every code of
  every code set, so a new rule for single-registered learners cannot be skipped unnoticed.
- The CME pre-filter counts only `MAY_QUALIFY` codes: every code that can extend a run is one.
- The SQLite insert bypasses SQLAlchemy's binding: it must store exactly the text SQLAlchemy
  would, and fall back to reading ids back when rowids are not the next ones.
- `upsert_many` hands the rules each changed cell's new current mark.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from hub.reconciliation import SOLO_FINDING_CODES
from hub.rules.codes import all_code_sets
from hub.rules.reconcile import SessionFacts, dual_absence_notices, reconcile_session
from hub.rules.returns import unauthorised_absence
from hub.rules_runner import MAY_QUALIFY
from hub.store import MarkKey, MarkRepository, create_engine, session_factory, upgrade
from hub.store.marks import ChangedKeys
from hub.store.models import Base
from hub_contracts import (
    AttendanceMark,
    Registration,
    RegistrationStatus,
    Session,
    make_upn,
)

UPN = make_upn("999200125031")
SCHOOL = "9992001"
DAY = dt.date(2025, 10, 6)  # a Monday, in force for every packaged code set
CODES = sorted(
    {(cs.jurisdiction, cs.id, code) for cs in all_code_sets() for code in cs.codes},
    key=lambda row: (row[1], row[2]),
)
NOWS = {
    "before-deadline": dt.datetime(2025, 10, 6, 8, 0, tzinfo=dt.UTC),
    "same-evening": dt.datetime(2025, 10, 6, 18, 0, tzinfo=dt.UTC),
    "weeks-later": dt.datetime(2025, 11, 20, 12, 0, tzinfo=dt.UTC),
}


def _mark(code: str, session: Session = Session.AM, **extra: object) -> AttendanceMark:
    values: dict[str, object] = {
        "upn": UPN,
        "setting_id": SCHOOL,
        "date": DAY,
        "session": session,
        "code": code,
        "source": "test",
        "recorded_at": dt.datetime(2025, 10, 6, 9, 5, 30, 123456, tzinfo=dt.UTC),
    }
    return AttendanceMark.model_validate(values | extra)


@pytest.mark.parametrize(
    ("jurisdiction", "code"),
    [pytest.param(j, code, id=f"{cs}:{code}") for j, cs, code in CODES],
)
def test_a_single_registered_session_without_a_solo_code_gives_nothing(
    jurisdiction: str, code: str
) -> None:
    registration = Registration(
        upn=UPN,
        setting_id=SCHOOL,
        status=RegistrationStatus.SINGLE,
        start_date=dt.date(2025, 9, 1),
    )
    for session in Session:
        facts = SessionFacts(
            upn=UPN,
            date=DAY,
            session=session,
            registrations=(registration,),
            marks={SCHOOL: _mark(code, session)},
            jurisdiction_of={SCHOOL: jurisdiction},  # type: ignore[dict-item]
        )
        for label, now in NOWS.items():
            findings = reconcile_session(facts, now=now)
            if code not in SOLO_FINDING_CODES:
                assert findings == (), (label, [f.kind.value for f in findings])
            assert dual_absence_notices(facts) == ()


@pytest.mark.parametrize(
    ("jurisdiction", "code"),
    [pytest.param(j, code, id=f"{cs}:{code}") for j, cs, code in CODES],
)
def test_every_code_that_can_extend_a_cme_run_is_counted(jurisdiction: str, code: str) -> None:
    for day in (DAY, dt.date(2024, 10, 7)):
        if unauthorised_absence(jurisdiction)(day, code):
            assert code in MAY_QUALIFY


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await upgrade(url)
    return url


async def test_the_sqlite_insert_stores_what_sqlalchemy_would(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    marks = Base.metadata.tables["marks"]
    received = dt.datetime(2025, 10, 6, 10, 0, tzinfo=dt.UTC)
    try:
        async with session_factory(engine).begin() as session:
            await MarkRepository(session).upsert_many([_mark("/")], received_at=received)
            reference = _mark("I", Session.PM)
            await session.execute(
                insert(marks).values(
                    upn=reference.upn,
                    setting_id=reference.setting_id,
                    date=reference.date,
                    session=reference.session.value,
                    code=reference.code,
                    source=reference.source,
                    recorded_at=reference.recorded_at,
                    received_at=received,
                )
            )
            stored = (
                await session.execute(
                    text("SELECT session, date, recorded_at, received_at FROM marks ORDER BY id")
                )
            ).all()
    finally:
        await engine.dispose()
    fast, core = stored
    assert fast[0] == "AM" and core[0] == "PM"
    assert fast[1:] == core[1:]  # the same text, byte for byte


async def test_ids_are_read_back_when_rowids_are_not_the_next_ones(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    marks = Base.metadata.tables["marks"]
    try:
        async with session_factory(engine).begin() as session:
            # At the largest rowid SQLite picks free rowids at random, not max + 1.
            await session.execute(
                insert(marks).values(
                    id=2**63 - 1,
                    upn=make_upn("999200125032"),
                    setting_id=SCHOOL,
                    date=DAY,
                    session="AM",
                    code="/",
                    source="test",
                    recorded_at=dt.datetime(2025, 10, 6, 9, tzinfo=dt.UTC),
                    received_at=dt.datetime(2025, 10, 6, 9, tzinfo=dt.UTC),
                )
            )
            repo = MarkRepository(session)
            first = [_mark("/", s) for s in Session]
            later = dt.datetime(2025, 10, 6, 11, tzinfo=dt.UTC)
            amended = [_mark("M", s, recorded_at=later) for s in Session]
            await repo.upsert_many(first)
            result = await repo.upsert_many(amended)
            assert result.amended == 2
            for mark in amended:
                assert await repo.current(MarkKey.of(mark)) == mark
                history = await repo.history(MarkKey.of(mark))
                # (Random rowids do not follow arrival, so history is compared as a set.)
                assert {(e.mark.code, e.current) for e in history} == {("/", False), ("M", True)}
            pointed = (
                await session.execute(
                    select(marks.c.code).join(
                        Base.metadata.tables["current_marks"],
                        Base.metadata.tables["current_marks"].c.mark_id == marks.c.id,
                    )
                )
            ).scalars()
            assert sorted(pointed) == ["M", "M"]
    finally:
        await engine.dispose()


async def test_upsert_hands_each_changed_cell_its_new_current_mark(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with session_factory(engine).begin() as session:
            repo = MarkRepository(session)
            repo.chunk_size = 2  # several chunks: the results are added up
            later = dt.datetime(2025, 10, 6, 11, tzinfo=dt.UTC)
            batch = [
                _mark("/"),
                _mark("\\", Session.PM),
                _mark("O", recorded_at=later),  # amends the first, in another chunk
                _mark("/"),  # a re-send of the original: history, not current
            ]
            result = await repo.upsert_many(batch)
    finally:
        await engine.dispose()
    keys = result.changed_keys
    assert isinstance(keys, ChangedKeys)
    assert keys == (MarkKey.of(batch[0]), MarkKey.of(batch[1]))
    assert keys.current == {MarkKey.of(batch[0]): batch[2], MarkKey.of(batch[1]): batch[1]}
