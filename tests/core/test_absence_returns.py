"""The periodic absence return (Wales reg 12(1)): irregular attenders and 10+ continuous school
days of unauthorised absence are listed; a regular attender is not; building twice is one return."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.absence_returns import build_absence_return
from hub.ingest import ingest_marks, ingest_reference
from hub.settings import AbsenceReturnSettings
from hub.store import CalendarRepository
from hub_contracts import Learner, Registration, SchoolCalendar, Setting, make_upn

SCHOOL = Setting(
    id="9992001",
    name="Ysgol Gynradd (synthetic)",
    kind="mainstream",  # type: ignore[arg-type]
    jurisdiction="wales",
    la_code="999",
    maintained=True,
)  # type: ignore[arg-type]
RUN, IRREGULAR, REGULAR = (make_upn(f"99920012503{i}") for i in range(3))
DAYS = tuple(
    d for d in (dt.date(2025, 11, 3) + dt.timedelta(days=i) for i in range(26)) if d.weekday() < 5
)  # 20 school days, 3-28 Nov 2025
AS_OF = dt.date(2025, 11, 28)


def _marks(upn: str, codes: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "upn": upn,
            "setting_id": SCHOOL.id,
            "date": d.isoformat(),
            "session": s,
            "code": code if s == "AM" else ("\\" if code == "/" else code),
            "source": "test",
            "recorded_at": dt.datetime.combine(d, dt.time(9), tzinfo=dt.UTC).isoformat(),
        }
        for d, code in zip(DAYS, codes, strict=True)
        for s in ("AM", "PM")
    ]


async def test_absence_return_lists_who_the_regulation_requires(session: AsyncSession) -> None:
    now = dt.datetime(2025, 11, 28, 16, tzinfo=dt.UTC)
    await ingest_reference(
        session,
        [
            SCHOOL,
            *[
                Learner(
                    upn=u,
                    given_name="Synthetic",
                    family_name=f"Prawf-{i}",
                    date_of_birth=dt.date(2016, 1, 1),
                    address=f"{i} Heol Enghraifft",
                )
                for i, u in enumerate((RUN, IRREGULAR, REGULAR))
            ],
            *[
                Registration(
                    upn=u,
                    setting_id=SCHOOL.id,
                    status="single",  # type: ignore[arg-type]
                    start_date=dt.date(2025, 9, 1),
                )
                for u in (RUN, IRREGULAR, REGULAR)
            ],
        ],
        now=now,
    )
    await CalendarRepository(session).replace(
        SchoolCalendar(setting_id=SCHOOL.id, school_days=DAYS)
    )
    await ingest_marks(
        session,
        [
            *_marks(RUN, ["/"] * 8 + ["O"] * 12),  # 12 continuous days unauthorised
            *_marks(IRREGULAR, ["/", "I"] * 10),  # 50% attendance, no long run
            *_marks(REGULAR, ["/"] * 19 + ["I"]),  # 95%
        ],
        source="test",
        now=now,
    )

    settings = AbsenceReturnSettings(period_days=26)
    ret = await build_absence_return(session, "999", AS_OF, settings=settings, sink=None, now=now)
    entries = {e["upn"]: e for e in ret.payload["entries"]}  # type: ignore[union-attr, index]
    assert set(entries) == {RUN, IRREGULAR}
    assert "continuous_unauthorised_absence" in entries[RUN]["reasons"]  # type: ignore[operator]
    assert entries[IRREGULAR]["reasons"] == ["irregular_attendance"]
    assert ret.recipient == "la:999"
    again = await build_absence_return(session, "999", AS_OF, settings=settings, sink=None, now=now)
    assert again.id == ret.id
