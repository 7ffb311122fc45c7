"""The register keeps every entry; the current mark per session is one keyed lookup."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store import MarkKey, MarkRepository
from hub.store.models import CurrentMarkRow, MarkRow
from hub_contracts import Session

HOUR = dt.timedelta(hours=1)


async def _count_entries(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(MarkRow))).scalar_one())


async def test_first_mark_is_inserted_and_current(session: AsyncSession, synthetic: Any) -> None:
    marks = MarkRepository(session)
    m = synthetic.mark(code="/")

    result = await marks.upsert_many([m])

    assert (result.inserted, result.amended, result.unchanged, result.historical) == (1, 0, 0, 0)
    assert result.changed_keys == (MarkKey.of(m),)
    assert await marks.current(MarkKey.of(m)) == m


async def test_identical_mark_is_unchanged_even_with_a_later_recorded_at(
    session: AsyncSession, synthetic: Any
) -> None:
    marks = MarkRepository(session)
    m = synthetic.mark(code="/")
    await marks.upsert_many([m])

    again = await marks.upsert_many([m, m.model_copy(update={"recorded_at": synthetic.T0 + HOUR})])

    assert (again.inserted, again.amended, again.unchanged) == (0, 0, 2)
    assert again.changed_keys == ()
    assert await _count_entries(session) == 1


async def test_amendment_keeps_the_original_and_points_current_at_the_latest(
    session: AsyncSession, synthetic: Any
) -> None:
    marks = MarkRepository(session)
    original = synthetic.mark(code="N")
    amended = synthetic.mark(code="M", recorded_at=synthetic.T0 + HOUR, source_ref="edit-2")
    key = MarkKey.of(original)
    await marks.upsert_many([original])

    result = await marks.upsert_many([amended])

    assert (result.inserted, result.amended, result.unchanged) == (0, 1, 0)
    assert result.changed_keys == (key,)
    assert await marks.current(key) == amended
    history = await marks.history(key)
    assert [e.mark for e in history] == [original, amended]
    assert [e.current for e in history] == [False, True]
    assert history[0].id < history[1].id


async def test_minutes_late_source_and_ref_each_count_as_a_change(
    session: AsyncSession, synthetic: Any
) -> None:
    marks = MarkRepository(session)
    base = synthetic.mark(code="L", minutes_late=5)
    await marks.upsert_many([base])
    later = synthetic.T0
    for change in ({"minutes_late": 10}, {"source": "other-mis"}, {"source_ref": "r1"}):
        later += HOUR
        result = await marks.upsert_many([base.model_copy(update={**change, "recorded_at": later})])
        assert result.amended == 1, change
    assert len(await marks.history(MarkKey.of(base))) == 4


async def test_older_unseen_entry_is_kept_as_history_without_replacing_current(
    session: AsyncSession, synthetic: Any
) -> None:
    marks = MarkRepository(session)
    newer = synthetic.mark(code="/", recorded_at=synthetic.T0 + HOUR)
    older = synthetic.mark(code="N", recorded_at=synthetic.T0)
    await marks.upsert_many([newer])

    result = await marks.upsert_many([older])

    assert (result.historical, result.changed_keys) == (1, ())
    assert await marks.current(MarkKey.of(newer)) == newer
    assert [e.mark for e in await marks.history(MarkKey.of(newer))] == [newer, older]


async def test_resending_a_superseded_entry_changes_nothing(
    session: AsyncSession, synthetic: Any
) -> None:
    marks = MarkRepository(session)
    first = synthetic.mark(code="N")
    second = synthetic.mark(code="I", recorded_at=synthetic.T0 + HOUR)
    await marks.upsert_many([first, second])

    # A full re-read of the source returns both versions again, in either order.
    forward = await marks.upsert_many([first, second])
    backward = await marks.upsert_many([second, first])

    assert (forward.unchanged, backward.unchanged) == (2, 2)
    assert await _count_entries(session) == 2
    assert await marks.current(MarkKey.of(first)) == second


async def test_same_timestamp_replay_does_not_flip_flop(
    session: AsyncSession, synthetic: Any
) -> None:
    marks = MarkRepository(session)
    a = synthetic.mark(code="N")
    b = synthetic.mark(code="I")  # same recorded_at: the later arrival wins
    await marks.upsert_many([a, b])
    assert await marks.current(MarkKey.of(a)) == b

    replay = await marks.upsert_many([a, b])

    assert replay.unchanged == 2
    assert await _count_entries(session) == 2


async def test_several_versions_in_one_batch(session: AsyncSession, synthetic: Any) -> None:
    marks = MarkRepository(session)
    v1 = synthetic.mark(code="N")
    v2 = synthetic.mark(code="C", recorded_at=synthetic.T0 + HOUR)
    v3 = synthetic.mark(code="/", recorded_at=synthetic.T0 + 2 * HOUR)

    result = await marks.upsert_many([v1, v2, v3])

    assert (result.inserted, result.amended) == (1, 2)
    assert result.changed_keys == (MarkKey.of(v1),)
    assert await marks.current(MarkKey.of(v1)) == v3
    assert [e.mark for e in await marks.history(MarkKey.of(v1))] == [v1, v2, v3]


async def test_current_for_learner_filters_by_range_and_setting(
    session: AsyncSession, synthetic: Any
) -> None:
    marks = MarkRepository(session)
    day = synthetic.MONDAY
    rows = [
        synthetic.mark(day=day, session=Session.AM),
        synthetic.mark(day=day, session=Session.PM, code="N"),
        synthetic.mark(day=day, session=Session.AM, setting_id="9990002", code="D"),
        synthetic.mark(day=day + dt.timedelta(days=1)),
        synthetic.mark(day=day + dt.timedelta(days=7)),
        synthetic.mark(2, day=day),
    ]
    await marks.upsert_many(rows)

    week = await marks.current_for_learner(synthetic.upn(1), day, day + dt.timedelta(days=4))
    at_one = await marks.current_for_learner(synthetic.upn(1), day, day, setting_id="9990002")
    by_setting = await marks.current_for_setting("9990001", day, day)

    assert week == [rows[0], rows[2], rows[1], rows[3]]
    assert at_one == [rows[2]]
    assert by_setting == [rows[0], rows[5], rows[1]]


async def test_history_for_learner_groups_entries_by_cell(
    session: AsyncSession, synthetic: Any
) -> None:
    marks = MarkRepository(session)
    first = synthetic.mark(code="N")
    amended = synthetic.mark(code="M", recorded_at=synthetic.T0 + HOUR)
    pm = synthetic.mark(session=Session.PM)
    await marks.upsert_many([first, amended, pm])

    grouped = await marks.history_for_learner(synthetic.upn(1), synthetic.MONDAY, synthetic.MONDAY)

    assert {k: [e.mark.code for e in v] for k, v in grouped.items()} == {
        MarkKey.of(first): ["N", "M"],
        MarkKey.of(pm): ["/"],
    }


async def test_batch_of_ten_thousand_marks(session: AsyncSession, synthetic: Any) -> None:
    marks = MarkRepository(session)
    days = [synthetic.MONDAY + dt.timedelta(days=d) for d in range(25)]
    batch = [
        synthetic.mark(n, day=day, session=s)
        for n in range(200)
        for day in days
        for s in (Session.AM, Session.PM)
    ]
    assert len(batch) == 10_000

    first = await marks.upsert_many(batch)
    again = await marks.upsert_many(batch)
    amendments = [
        m.model_copy(update={"code": "M", "recorded_at": synthetic.T0 + HOUR}) for m in batch[::10]
    ]
    amended = await marks.upsert_many(amendments)
    await session.commit()

    assert (first.inserted, len(first.changed_keys)) == (10_000, 10_000)
    assert (again.unchanged, again.changed_keys) == (10_000, ())
    assert (amended.amended, len(amended.changed_keys)) == (1_000, 1_000)
    assert await _count_entries(session) == 11_000
    assert await marks.current(MarkKey.of(batch[10])) == amendments[1]


async def test_every_current_row_is_a_copy_of_the_entry_it_points_at(
    session: AsyncSession, synthetic: Any
) -> None:
    """`current_marks` holds, per cell, exactly the columns of its latest `marks` entry."""
    marks = MarkRepository(session)
    first = [synthetic.mark(n, code="/") for n in range(50)]
    await marks.upsert_many(first)
    later = [
        m.model_copy(update={"code": "L", "minutes_late": 7, "recorded_at": synthetic.T0 + HOUR})
        for m in first[::3]
    ]
    await marks.upsert_many(later)
    columns = ("upn", "setting_id", "date", "session", "code", "minutes_late", "source")
    columns += ("source_ref", "recorded_at")
    current = CurrentMarkRow.__table__.c
    entry = MarkRow.__table__.c
    query = select(
        *(current[name] for name in columns),
        *(entry[name] for name in columns),
    ).join_from(CurrentMarkRow, MarkRow, current.mark_id == entry.id)
    rows = (await session.execute(query)).all()
    assert len(rows) == 50
    for row in rows:
        assert tuple(row[: len(columns)]) == tuple(row[len(columns) :])
    assert sum(row[4] == "L" for row in rows) == len(later)
