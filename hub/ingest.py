"""The one ingest path for register marks and reference records, used by the HTTP API and the
sync engine alike, always inside the caller's transaction.

A mark is accepted only from a setting where the learner is registered on that date, or from an
EOTAS provider where the learner has a placement, and only with a code in the code set in force
for that setting's jurisdiction and date (DESIGN §3). Every rejected record is kept, raw, in the
quarantine with the field and the reason — bad input never disappears silently and never stops
the good records beside it. Accepted marks are upserted with history (an identical re-send is a
no-op) and the rules run for the learner-sessions that really changed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Protocol

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.rules.codes import CodeNotInForce, UnknownCodeSetError, lookup_code
from hub.store import (
    LearnerRepository,
    MarkKey,
    MarkRepository,
    PlacementRepository,
    QuarantineRepository,
    RegistrationRepository,
    SettingRepository,
    UpsertResult,
)
from hub_contracts import (
    AttendanceMark,
    EotasPlacement,
    Learner,
    Registration,
    Setting,
    describe_validation_error,
)

log = structlog.get_logger(__name__)

_MARK = TypeAdapter(AttendanceMark)
_MARKS = TypeAdapter(list[AttendanceMark])


@dataclass(frozen=True, slots=True)
class PageRoll:
    """The registrations and placements `ingest_marks` read for a page's learners."""

    upns: frozenset[str]
    registrations: Mapping[str, Sequence[Registration]]
    placements: Mapping[str, Sequence[EotasPlacement]]


#: Set while `ingest_marks` runs the rules: the roll it has just read for the page's learners,
#: in the same transaction and unchanged since (only marks and quarantine rows were written in
#: between), so the rules need not read it again (`hub.reconciliation`).
PAGE_ROLL: ContextVar[PageRoll | None] = ContextVar("hub_ingest_page_roll", default=None)


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    field: str | None
    message: str
    code: str  # invalid | unknown_setting | not_registered | code_not_in_force

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "field": self.field,
            "message": self.message,
            "code": self.code,
        }


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    rejected: tuple[Rejection, ...]
    upsert: UpsertResult

    @property
    def changed_keys(self) -> tuple[MarkKey, ...]:
        return self.upsert.changed_keys


class RulesRunner(Protocol):
    """Runs the rules for learner-sessions whose current mark changed, in the same transaction
    (findings, proposed write-backs and notifications are persisted before anything is sent)."""

    async def after_marks(
        self, session: AsyncSession, changed: Sequence[MarkKey], *, now: dt.datetime
    ) -> None: ...


def _raw_json(item: Mapping[str, Any] | AttendanceMark) -> str:
    if isinstance(item, AttendanceMark):
        return item.model_dump_json()
    try:
        return json.dumps(item, default=str, sort_keys=True)
    except (TypeError, ValueError):
        return repr(item)


async def ingest_marks(
    session: AsyncSession,
    items: Sequence[Mapping[str, Any] | AttendanceMark],
    *,
    source: str,
    now: dt.datetime,
    rules: RulesRunner | None = None,
) -> IngestResult:
    """Validate, quarantine the rejects, upsert the rest with history, run the rules."""
    rejected: list[Rejection] = []
    parsed = _validate(items, rejected)

    upns = {m.upn for _, m in parsed}
    settings = await SettingRepository(session).get_many({m.setting_id for _, m in parsed})
    registrations = await RegistrationRepository(session).for_learners(upns)
    placements = await PlacementRepository(session).for_learners(upns)

    accepted: list[AttendanceMark] = []
    codes: dict[tuple[str, dt.date, str], Rejection | None] = {}
    for index, mark in parsed:
        rejection = _judge(index, mark, settings, registrations, placements, codes)
        if rejection is None:
            accepted.append(mark)
        else:
            rejected.append(rejection)

    rejected.sort(key=lambda r: r.index)
    if rejected:
        quarantine = QuarantineRepository(session)
        for r in rejected:
            await quarantine.add(
                source,
                reason=f"{r.code}: {r.message}",
                raw_payload=_raw_json(items[r.index]),
                received_at=now,
                field=r.field,
            )
        log.info(
            "marks_rejected",
            source=source,
            count=len(rejected),
            reasons=sorted({r.code for r in rejected}),
        )

    result = await MarkRepository(session).upsert_many(accepted, received_at=now)
    if rules is not None and result.changed_keys:
        token = PAGE_ROLL.set(PageRoll(frozenset(upns), registrations, placements))
        try:
            await rules.after_marks(session, result.changed_keys, now=now)
        finally:
            PAGE_ROLL.reset(token)
    return IngestResult(accepted=len(accepted), rejected=tuple(rejected), upsert=result)


def _validate(
    items: Sequence[Mapping[str, Any] | AttendanceMark], rejected: list[Rejection]
) -> list[tuple[int, AttendanceMark]]:
    """The valid marks with their positions; a rejection for each invalid one.

    The whole page is validated in one call (pydantic's loop, not ours); only a page with an
    invalid item is gone through again one item at a time, to say which and why.
    """
    try:
        return list(enumerate(_MARKS.validate_python(list(items))))
    except ValidationError:
        pass
    parsed: list[tuple[int, AttendanceMark]] = []
    for index, item in enumerate(items):
        if isinstance(item, AttendanceMark):
            parsed.append((index, item))
            continue
        try:
            parsed.append((index, _MARK.validate_python(item)))
        except ValidationError as exc:
            first = describe_validation_error(exc)[0]
            rejected.append(Rejection(index, first.field or None, first.message, "invalid"))
    return parsed


def _judge(
    index: int,
    mark: AttendanceMark,
    settings: Mapping[str, Setting],
    registrations: Mapping[str, Sequence[Registration]],
    placements: Mapping[str, Sequence[EotasPlacement]],
    codes: dict[tuple[str, dt.date, str], Rejection | None],
) -> Rejection | None:
    setting = settings.get(mark.setting_id)
    if setting is None:
        return Rejection(
            index,
            "setting_id",
            f"setting {mark.setting_id!r} is not known to the hub",
            "unknown_setting",
        )
    registered = any(
        r.setting_id == mark.setting_id and r.on_roll(mark.date)
        for r in registrations.get(mark.upn, ())
    )
    placed = any(
        p.provider_id == mark.setting_id and p.active(mark.date)
        for p in placements.get(mark.upn, ())
    )
    if not (registered or placed):
        # DESIGN §3: marks come only from a registering setting or a placement's provider.
        return Rejection(
            index,
            "setting_id",
            f"the learner is not on the roll of setting {mark.setting_id} on {mark.date} and "
            "has no EOTAS placement with it",
            "not_registered",
        )
    # The code set in force depends only on the jurisdiction and the date: judge each
    # (jurisdiction, date, code) once per page.
    cell = (setting.jurisdiction.value, mark.date, mark.code)
    if cell not in codes:
        try:
            lookup_code(setting.jurisdiction, mark.date, mark.code)
            codes[cell] = None
        except (CodeNotInForce, UnknownCodeSetError) as exc:
            codes[cell] = Rejection(0, "code", str(exc), "code_not_in_force")
    verdict = codes[cell]
    return None if verdict is None else replace(verdict, index=index)


async def ingest_reference(
    session: AsyncSession,
    records: Sequence[Setting | Learner | Registration | EotasPlacement],
    *,
    now: dt.datetime,
) -> int:
    """Upsert reference records (settings, learners, registrations, placements); return how
    many changed. Natural keys make re-sends no-ops for settings and learners; registrations
    and placements are idempotent on their natural keys too."""
    changed = 0
    settings, learners = SettingRepository(session), LearnerRepository(session)
    regs, placements = RegistrationRepository(session), PlacementRepository(session)
    for record in records:
        if isinstance(record, Setting):
            changed += int(await settings.upsert(record))
        elif isinstance(record, Learner):
            changed += int(await learners.upsert(record))
        elif isinstance(record, Registration):
            await regs.add(record)
            changed += 1
        else:
            await placements.add(record)
            changed += 1
    return changed
