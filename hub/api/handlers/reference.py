"""Reference data: settings, school calendars, learners, registrations, EOTAS placements.

Write rules by scope (admin may do all of them):

- `PUT /v1/settings/{id}`: an `la:` token of the setting's LA — of the body's `la_code` and,
  for an existing setting, of its stored LA too (a setting cannot be moved out of another LA).
  `setting:` tokens cannot create or change settings.
- `PUT /v1/settings/{id}/calendar`: any token that covers the setting (its LA, or itself).
- `PUT /v1/learners/{upn}`: a new UPN may be created by any `la:` or `setting:` token (a school
  adds a pupil before registering them); an existing learner may be changed only by a token
  that reaches a setting the learner is on the roll of, other than one the learner's
  `sharing_restrictions` name (a barred setting cannot lift its own restriction).
- `POST /v1/registrations`: a token covering `setting_id`.
- `POST /v1/eotas-placements`: a token covering `school_id` (the registering school arranges
  the placement; its LA's token covers LA-arranged ones).

Writes aimed at a setting outside the scope are 403. Unknown settings or learners named in a
body are 422 naming the field, since the body, not the URL, is what is wrong.
"""

from __future__ import annotations

from aiohttp import web

from hub.api.access import barred_view, reach, roll_settings, within
from hub.api.context import Call
from hub.api.errors import ApiError, forbidden, not_found
from hub.api.routing import json_reply
from hub.api.schemas import CalendarUpdate, IdReply, LearnerPath, SettingPath
from hub.store import (
    CalendarRepository,
    LearnerRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
)
from hub_contracts import EotasPlacement, Learner, Registration, SchoolCalendar, Setting


async def put_setting(call: Call) -> web.StreamResponse:
    setting = call.body_as(Setting)
    if setting.id != call.path_as(SettingPath).id:
        raise ApiError(422, "validation_error", "must equal the id in the path", field="id")
    principal = call.caller
    async with call.state.session() as session, session.begin():
        repo = SettingRepository(session)
        existing = await repo.get(setting.id)
        if not principal.is_admin:
            las = principal.la_codes
            if setting.la_code not in las or (existing is not None and existing.la_code not in las):
                raise forbidden("changing a setting needs an admin token or its LA's token")
        await repo.upsert(setting)
    return json_reply(setting)


async def put_calendar(call: Call) -> web.StreamResponse:
    setting_id = call.path_as(SettingPath).id
    update = call.body_as(CalendarUpdate)
    calendar = SchoolCalendar(setting_id=setting_id, school_days=tuple(update.school_days))
    async with call.state.session() as session, session.begin():
        setting = await SettingRepository(session).get(setting_id)
        if setting is None:
            raise not_found("setting")
        if not call.caller.covers(setting):
            raise forbidden("the token's scope does not cover this setting")
        await CalendarRepository(session).replace(calendar)
    return json_reply(calendar)


async def put_learner(call: Call) -> web.StreamResponse:
    learner = call.body_as(Learner)
    if learner.upn != call.path_as(LearnerPath).upn:
        raise ApiError(422, "validation_error", "must equal the UPN in the path", field="upn")
    principal = call.caller
    async with call.state.session() as session, session.begin():
        repo = LearnerRepository(session)
        existing = None if principal.is_admin else await repo.get(learner.upn)
        if existing is not None:
            on_roll_of = await roll_settings(session, learner.upn)
            reach_ = await reach(session, principal)
            if not within(reach_, on_roll_of):
                raise forbidden("the learner is not on the roll of a setting this token covers")
            if barred_view(reach_, on_roll_of, existing.sharing_restrictions):
                raise forbidden("the learner's sharing restrictions bar this token's settings")
        await repo.upsert(learner)
    return json_reply(learner)


async def post_registration(call: Call) -> web.StreamResponse:
    registration = call.body_as(Registration)
    async with call.state.session() as session, session.begin():
        settings = SettingRepository(session)
        await _require_setting(call, settings, registration.setting_id, "setting_id", cover=True)
        await _require_learner(LearnerRepository(session), registration.upn)
        record_id = await RegistrationRepository(session).add(registration)
    return json_reply(IdReply(id=record_id), status=201)


async def post_placement(call: Call) -> web.StreamResponse:
    placement = call.body_as(EotasPlacement)
    async with call.state.session() as session, session.begin():
        settings = SettingRepository(session)
        await _require_setting(call, settings, placement.school_id, "school_id", cover=True)
        await _require_setting(call, settings, placement.provider_id, "provider_id", cover=False)
        await _require_learner(LearnerRepository(session), placement.upn)
        record_id = await PlacementRepository(session).add(placement)
    return json_reply(IdReply(id=record_id), status=201)


async def _require_setting(
    call: Call, settings: SettingRepository, setting_id: str, field: str, *, cover: bool
) -> None:
    """422 when the body names an unknown setting; 403 when `cover` and it is out of scope."""
    setting = await settings.get(setting_id)
    if setting is None:
        raise ApiError(
            422, "validation_error", "no such setting: PUT /v1/settings/{id} first", field=field
        )
    if cover and not call.caller.covers(setting):
        raise forbidden("the token's scope does not cover this setting")


async def _require_learner(learners: LearnerRepository, upn: str) -> None:
    if await learners.get(upn) is None:
        raise ApiError(
            422, "validation_error", "no such learner: PUT /v1/learners/{upn} first", field="upn"
        )
