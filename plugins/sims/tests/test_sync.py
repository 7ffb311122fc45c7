"""A sync of 10,000 marks through an emulator that throttles or fails a third of requests:
every mark arrives exactly once, with a read loop that honours the SDK errors as the core does."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from hub.sdk import RateLimited, TransientError
from hub.testing.faults import Fault
from hub_sims.emulator import seed_synthetic_school

if TYPE_CHECKING:
    from conftest import SimsRig

T = TypeVar("T")

#: Retries per call before the test gives up (a third of requests fail: 30 in a row is ~1e-14).
MAX_ATTEMPTS = 30


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """The core's contract in miniature: retry TransientError (RateLimited after its hint,
    capped so the test stays quick); anything else propagates."""
    for _ in range(MAX_ATTEMPTS - 1):
        try:
            return await call()
        except RateLimited as exc:
            await asyncio.sleep(min(exc.retry_after or 0.0, 0.01))
        except TransientError:
            await asyncio.sleep(0)
    return await call()


def school_days(start: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


async def test_ten_thousand_marks_arrive_exactly_once_despite_faults(rig: SimsRig) -> None:
    # 50 learners x 100 school days x 2 sessions = 10,000 marks over ~20 weeks: two 90-day
    # windows, ten 1,000-record pages.
    days = school_days(dt.date(2026, 1, 5), 100)
    seed_synthetic_school(rig.state, learners=50, days=days)
    assert len(rig.state.marks) == 10_000
    adapter = rig.adapter(attendance_from="2026-01-01", attendance_to="2026-06-30")
    faults = rig.faults
    faults.configure(
        ratio=1 / 3, kinds=[Fault.RATE_LIMIT, Fault.SERVER_ERROR], retry_after=1, seed=7
    )

    seen: Counter[tuple[str, dt.date, str]] = Counter()
    cursor: str | None = None
    pages = 0
    while True:
        page = await with_retries(lambda at=cursor: adapter.read_marks(at))  # type: ignore[misc]
        pages += 1
        assert pages < 200, "the read never ended"
        for mark in page.records:
            seen[(mark.upn, mark.date, mark.session.value)] += 1
        cursor = page.next_cursor
        if not page.has_more:
            break

    assert sum(faults.injected.values()) > 0
    assert len(seen) == 10_000
    assert set(seen.values()) == {1}
    # Nothing changed since: the saved cursor reads nothing new.
    faults.reset()
    again = await adapter.read_marks(cursor)
    while again.has_more:
        assert not again.records
        again = await adapter.read_marks(again.next_cursor)
    assert not again.records
