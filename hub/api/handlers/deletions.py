"""Roll deletions and LA returns (issue 8).

- `POST /v1/roll-deletions`: a token covering the setting asks; the hub decides `allowed`,
  `refused` or `pending` with every reason's rule, message and citation (`hub.deletions`).
  `allowed` means the registration was ended at `effective_date`; `dry_run` decides only.
- `POST /v1/roll-deletions/{id}/consents/{setting_id}`: the proprietor of another setting where
  a dual-registered pupil is registered consents (Wales reg 8(1)(c); England 2024 reg
  9(1)(c)(ii)); the request is decided again and the new decision returned. A token covering
  the consenting setting is required, and that setting must be another setting the pupil is
  registered at: anyone else's "consent" is 404, as if the decision did not exist (it is
  about a learner they need not know).
- `POST /v1/returns/absence?la_code&as_of`: the periodic reg 12(1) return for an LA, built now
  (idempotent per period); admin or that LA's token.
"""

from __future__ import annotations

from aiohttp import web

from hub.absence_returns import build_absence_return
from hub.api.context import Call
from hub.api.errors import ApiError, forbidden, not_found
from hub.api.routing import json_reply
from hub.api.schemas import EARLIEST_DATE, LATEST_DATE, AbsenceReturnQuery, ConsentPath
from hub.deletions import DeletionRefused, record_consent, request_deletion
from hub.notifications import OutboxSink
from hub.store import (
    RegistrationRepository,
    RollDeletionDecisionRepository,
    SettingRepository,
)
from hub_contracts import RollDeletionRequest


def _sink(call: Call) -> OutboxSink:
    runtime = call.state.runtime
    return OutboxSink(runtime.settings, runtime.plugins)


async def post_roll_deletion(call: Call) -> web.StreamResponse:
    request = call.body_as(RollDeletionRequest)
    if not EARLIEST_DATE <= request.effective_date <= LATEST_DATE:
        raise ApiError(
            422,
            "validation_error",
            f"must be between {EARLIEST_DATE} and {LATEST_DATE}",
            field="effective_date",
        )
    runtime = call.state.runtime
    async with call.state.session() as session, session.begin():
        setting = await SettingRepository(session).get(request.setting_id)
        if setting is None:
            raise ApiError(422, "validation_error", "unknown setting", field="setting_id")
        if not call.caller.covers(setting):
            raise forbidden("the token's scope does not cover this setting")
        try:
            decision = await request_deletion(
                session,
                request,
                settings=runtime.settings.deletions,
                sink=_sink(call),
                actor=call.caller.name,
                now=call.state.now(),
            )
        except DeletionRefused as exc:
            raise ApiError(422, "validation_error", str(exc), field="upn") from exc
    call.state.wake_outbox()
    return json_reply(decision)


async def post_consent(call: Call) -> web.StreamResponse:
    path = call.path_as(ConsentPath)
    runtime = call.state.runtime
    async with call.state.session() as session, session.begin():
        setting = await SettingRepository(session).get(path.setting_id)
        if setting is None:
            raise not_found("setting")
        if not call.caller.covers(setting):
            raise forbidden("only the consenting setting (or its LA) may record its consent")
        request = await RollDeletionDecisionRepository(session).request_for(path.id)
        if request is None or path.setting_id == request.setting_id:
            raise not_found("roll deletion decision")
        registered = await RegistrationRepository(session).for_learner(request.upn)
        if path.setting_id not in {r.setting_id for r in registered}:
            raise not_found("roll deletion decision")
        try:
            decision = await record_consent(
                session,
                path.id,
                path.setting_id,
                settings=runtime.settings.deletions,
                sink=_sink(call),
                actor=call.caller.name,
                now=call.state.now(),
            )
        except DeletionRefused as exc:
            raise not_found("roll deletion decision") from exc
    call.state.wake_outbox()
    return json_reply(decision)


async def post_absence_return(call: Call) -> web.StreamResponse:
    query = call.query_as(AbsenceReturnQuery)
    if not (call.caller.is_admin or query.la_code in call.caller.la_codes):
        raise forbidden("an absence return needs an admin token or that LA's token")
    runtime = call.state.runtime
    async with call.state.session() as session, session.begin():
        notification = await build_absence_return(
            session,
            query.la_code,
            query.as_of,
            settings=runtime.settings.absence_returns,
            sink=_sink(call),
            now=call.state.now(),
        )
    call.state.wake_outbox()
    return json_reply(notification)
