"""The register: posting marks, reading a learner's marks with history, attendance figures.

`POST /v1/marks` goes through the one ingest path (`hub.ingest.ingest_marks`) in ONE
transaction: each mark is validated on its own, the rejects are quarantined raw, the accepted
ones are stored with history and the rules have run for them before the reply is sent. A mark
for a setting outside the token's scope is rejected with code `forbidden` (and quarantined);
the rest of the batch still goes in.

Reads: a token that reaches the learner (see `hub.api.access`) sees the learner's marks at
every setting — the partner setting of a dual registration needs them — except when the token
reaches the learner only through settings listed in the learner's `sharing_restrictions`:
then it sees only the marks recorded by its own settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.access import Reach, barred_view, reach, require_visible_learner
from hub.api.auth import Principal
from hub.api.context import Call
from hub.api.routing import json_reply
from hub.api.schemas import (
    AttendanceQuery,
    AttendanceReply,
    DateRangeQuery,
    ErrorDetail,
    LearnerMarksReply,
    LearnerPath,
    MarkEntryReply,
    MarkRejection,
    MarksBatch,
    MarksReply,
    RegisterCellReply,
)
from hub.ingest import Rejection, ingest_marks
from hub.rules.stats import attendance_summary
from hub.store import (
    LearnerRepository,
    MarkEntry,
    MarkRepository,
    QuarantineRepository,
    SettingRepository,
)
from hub_contracts import AttendanceMark

log = structlog.get_logger(__name__)

#: Quarantine source when the token has no name.
DEFAULT_SOURCE = "api"


async def post_marks(call: Call) -> web.StreamResponse:
    items = call.body_as(MarksBatch).marks
    principal, state = call.caller, call.state
    now = state.now()
    source = principal.name or DEFAULT_SOURCE
    async with state.session() as session, session.begin():
        in_scope, out_of_scope = _split_by_scope(items, await reach(session, principal))
        result = await ingest_marks(
            session,
            cast(Sequence[Mapping[str, Any]], [items[i] for i in in_scope]),
            source=source,
            now=now,
            rules=state.rules,
        )
        rejected = [
            Rejection(in_scope[r.index], r.field, r.message, r.code) for r in result.rejected
        ]
        if out_of_scope:
            quarantine = QuarantineRepository(session)
            for index in out_of_scope:
                refusal = Rejection(
                    index,
                    "setting_id",
                    "the token's scope does not cover this mark's setting",
                    "forbidden",
                )
                rejected.append(refusal)
                await quarantine.add(
                    source,
                    reason=f"{refusal.code}: {refusal.message}",
                    raw_payload=json.dumps(items[index], sort_keys=True),
                    received_at=now,
                    field=refusal.field,
                )
    state.wake_outbox()
    rejected.sort(key=lambda r: r.index)
    state.metrics.count_marks("api", result.accepted, (r.code for r in rejected))
    log.info(
        "marks_posted",
        token_id=principal.token_id,
        accepted=result.accepted,
        rejected=len(rejected),
        changed=len(result.changed_keys),
    )
    return json_reply(MarksReply(accepted=result.accepted, rejected=rejections(rejected)))


def rejections(rejected: Sequence[Rejection]) -> list[MarkRejection]:
    return [
        MarkRejection(
            index=r.index, error=ErrorDetail(code=r.code, message=r.message, field=r.field)
        )
        for r in rejected
    ]


def _split_by_scope(items: Sequence[Any], reach_: Reach) -> tuple[list[int], list[int]]:
    """Positions of the marks the token may post, and of those it may not.

    A mark whose `setting_id` is missing or not a string stays in scope here: the ingest
    path rejects it as invalid, naming the field.
    """
    if reach_ is None:
        return list(range(len(items))), []
    allowed: list[int] = []
    refused: list[int] = []
    for index, item in enumerate(items):
        setting_id = item.get("setting_id") if isinstance(item, dict) else None
        if isinstance(setting_id, str) and setting_id not in reach_:
            refused.append(index)
        else:
            allowed.append(index)
    return allowed, refused


async def get_learner_marks(call: Call) -> web.StreamResponse:
    upn = call.path_as(LearnerPath).upn
    dates = call.query_as(DateRangeQuery)
    async with call.state.session() as session:
        shown = await _readable_settings(session, call.caller, upn)
        history = await MarkRepository(session).history_for_learner(upn, dates.first, dates.last)
    cells = [
        _cell(entries)
        for key, entries in history.items()
        if shown is None or key.setting_id in shown
    ]
    reply = LearnerMarksReply(
        upn=upn, date_from=dates.date_from, date_to=dates.date_to, marks=cells
    )
    return json_reply(reply)


async def get_attendance(call: Call) -> web.StreamResponse:
    upn = call.path_as(LearnerPath).upn
    query = call.query_as(AttendanceQuery)
    async with call.state.session() as session:
        shown = await _readable_settings(session, call.caller, upn)
        marks = await MarkRepository(session).current_for_learner(
            upn, query.first, query.last, setting_id=query.setting_id
        )
        marks = [m for m in marks if shown is None or m.setting_id in shown]
        settings = await SettingRepository(session).get_many({m.setting_id for m in marks})
    summary = attendance_summary(
        marks, jurisdiction_of={sid: s.jurisdiction for sid, s in settings.items()}
    )
    return json_reply(
        AttendanceReply(
            possible_sessions=summary.possible_sessions,
            present=summary.present,
            aea=summary.aea,
            authorised=summary.authorised,
            unauthorised=summary.unauthorised,
            not_counted=summary.not_counted,
            attendance_pct=summary.attendance_pct,
            persistent_absence=summary.persistent_absence,
        )
    )


async def _readable_settings(
    session: AsyncSession, principal: Principal, upn: str
) -> frozenset[str] | None:
    """Whose marks of this learner the token may read: None for all; 404 if not the learner."""
    roll = await require_visible_learner(session, principal, upn)
    reach_ = await reach(session, principal)
    if reach_ is None:
        return None
    learner = await LearnerRepository(session).get(upn)
    if learner is not None and barred_view(reach_, roll, learner.sharing_restrictions):
        return reach_
    return None


def _cell(entries: Sequence[MarkEntry]) -> RegisterCellReply:
    current = next((e for e in entries if e.current), None)
    if current is None:  # never expected: the register always points at one entry per cell
        current = max(entries, key=lambda e: (e.mark.recorded_at, e.id))
    mark: AttendanceMark = current.mark
    return RegisterCellReply(
        setting_id=mark.setting_id,
        date=mark.date,
        session=mark.session,
        code=mark.code,
        minutes_late=mark.minutes_late,
        source=mark.source,
        source_ref=mark.source_ref,
        recorded_at=mark.recorded_at,
        amended=len(entries) > 1,
        history=[
            MarkEntryReply(
                code=e.mark.code,
                minutes_late=e.mark.minutes_late,
                source=e.mark.source,
                source_ref=e.mark.source_ref,
                recorded_at=e.mark.recorded_at,
                received_at=e.received_at,
                current=e is current,
            )
            for e in entries
        ],
    )
