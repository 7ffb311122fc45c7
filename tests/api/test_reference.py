"""Reference data through real HTTP: settings, calendars, learners, registrations, placements.

Happy paths run on both backends; scope and validation cases on SQLite only.
"""

from __future__ import annotations

import datetime as dt

import pytest

from hub.store import (
    CalendarRepository,
    LearnerRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
)

from .conftest import (
    PROVIDER_A,
    SCHOOL_A,
    SCHOOL_B,
    SQLITE_ONLY,
    UPN_A,
    UPN_B,
    UPN_NEW,
    Api,
    learner,
)


async def test_admin_puts_a_setting_and_gets_it_back(api: Api) -> None:
    body = SCHOOL_A.model_dump(mode="json")
    resp = await api.client.put(
        f"/v1/settings/{SCHOOL_A.id}", json=body, headers=await api.as_("admin")
    )
    assert resp.status == 200, await resp.text()
    assert await resp.json() == body
    async with api.session() as session:
        assert await SettingRepository(session).get(SCHOOL_A.id) == SCHOOL_A


async def test_calendar_replaces_the_school_days(world: Api) -> None:
    url = f"/v1/settings/{SCHOOL_A.id}/calendar"
    headers = await world.as_(f"setting:{SCHOOL_A.id}")
    first = await world.client.put(
        url, json={"school_days": ["2025-11-04", "2025-11-03"]}, headers=headers
    )
    assert first.status == 200, await first.text()
    assert await first.json() == {
        "setting_id": SCHOOL_A.id,
        "school_days": ["2025-11-03", "2025-11-04"],
    }
    second = await world.client.put(url, json={"school_days": ["2025-11-05"]}, headers=headers)
    assert second.status == 200
    async with world.session() as session:
        calendar = await CalendarRepository(session).get(SCHOOL_A.id)
    assert calendar.school_days == (dt.date(2025, 11, 5),)


async def test_learner_registration_and_placement_are_stored(world: Api) -> None:
    headers = await world.as_("la:999")
    body = learner(UPN_NEW, given_name="Newydd").model_dump(mode="json")
    resp = await world.client.put(f"/v1/learners/{UPN_NEW}", json=body, headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["given_name"] == "Newydd"

    registration = {
        "upn": UPN_NEW,
        "setting_id": SCHOOL_A.id,
        "status": "main",
        "start_date": "2025-10-01",
    }
    resp = await world.client.post("/v1/registrations", json=registration, headers=headers)
    assert resp.status == 201, await resp.text()
    reg_id = (await resp.json())["id"]
    again = await world.client.post("/v1/registrations", json=registration, headers=headers)
    assert (again.status, (await again.json())["id"]) == (201, reg_id)  # natural key

    placement = {
        "upn": UPN_NEW,
        "school_id": SCHOOL_A.id,
        "provider_id": PROVIDER_A.id,
        "sessions": [{"weekday": 1, "session": "AM"}],
        "start_date": "2025-10-01",
    }
    resp = await world.client.post("/v1/eotas-placements", json=placement, headers=headers)
    assert resp.status == 201, await resp.text()
    placement_id = (await resp.json())["id"]

    async with world.session() as session:
        stored_learner = await LearnerRepository(session).get(UPN_NEW)
        stored_reg = await RegistrationRepository(session).get(reg_id)
        stored_placement = await PlacementRepository(session).get(placement_id)
    assert stored_learner is not None and stored_learner.given_name == "Newydd"
    assert stored_reg is not None and stored_reg.setting_id == SCHOOL_A.id
    assert stored_placement is not None and stored_placement.provider_id == PROVIDER_A.id


# --- scope ---------------------------------------------------------------------------------


@SQLITE_ONLY
async def test_setting_token_cannot_change_another_setting(world: Api) -> None:
    headers = await world.as_(f"setting:{SCHOOL_A.id}")
    own = SCHOOL_A.model_dump(mode="json") | {"name": "Renamed"}
    other = SCHOOL_B.model_dump(mode="json") | {"name": "Renamed"}
    # A setting token changes no setting record, not even its own (admin or its LA does).
    for body in (own, other):
        resp = await world.client.put(f"/v1/settings/{body['id']}", json=body, headers=headers)
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "forbidden"
    resp = await world.client.put(
        f"/v1/settings/{SCHOOL_B.id}/calendar", json={"school_days": []}, headers=headers
    )
    assert resp.status == 403
    registration = {
        "upn": UPN_A,
        "setting_id": SCHOOL_B.id,
        "status": "single",
        "start_date": "2025-10-01",
    }
    resp = await world.client.post("/v1/registrations", json=registration, headers=headers)
    assert resp.status == 403
    async with world.session() as session:
        assert await SettingRepository(session).get(SCHOOL_B.id) == SCHOOL_B
        assert [r.setting_id for r in await RegistrationRepository(session).for_learner(UPN_A)] == [
            SCHOOL_A.id
        ]


@SQLITE_ONLY
async def test_la_token_changes_only_its_own_las_settings(world: Api) -> None:
    headers = await world.as_("la:999")
    ours = SCHOOL_A.model_dump(mode="json") | {"name": "Ysgol Newydd (synthetic)"}
    resp = await world.client.put(f"/v1/settings/{SCHOOL_A.id}", json=ours, headers=headers)
    assert resp.status == 200
    theirs = SCHOOL_B.model_dump(mode="json")
    resp = await world.client.put(f"/v1/settings/{SCHOOL_B.id}", json=theirs, headers=headers)
    assert resp.status == 403
    # Nor may it move another LA's setting into its own LA.
    stolen = theirs | {"la_code": "999"}
    resp = await world.client.put(f"/v1/settings/{SCHOOL_B.id}", json=stolen, headers=headers)
    assert resp.status == 403


@SQLITE_ONLY
async def test_learner_writes_follow_the_roll(world: Api) -> None:
    headers = await world.as_(f"setting:{SCHOOL_A.id}")
    own = learner(UPN_A, family_name="Changed").model_dump(mode="json")
    assert (
        await world.client.put(f"/v1/learners/{UPN_A}", json=own, headers=headers)
    ).status == 200
    other = learner(UPN_B, family_name="Changed").model_dump(mode="json")
    resp = await world.client.put(f"/v1/learners/{UPN_B}", json=other, headers=headers)
    assert resp.status == 403
    new = learner(UPN_NEW).model_dump(mode="json")
    assert (
        await world.client.put(f"/v1/learners/{UPN_NEW}", json=new, headers=headers)
    ).status == 200
    async with world.session() as session:
        stored = await LearnerRepository(session).get(UPN_B)
    assert stored is not None and stored.family_name == "Learner"


# --- validation ----------------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"la_code": "99"}, "la_code", id="la-code-not-3-digits"),
        pytest.param({"kind": "castle"}, "kind", id="unknown-kind"),
        pytest.param({"unexpected": 1}, "unexpected", id="unknown-field"),
        pytest.param({"id": "9990009"}, "id", id="body-id-differs-from-path"),
    ],
)
async def test_invalid_setting_body_is_422_naming_the_field(
    api: Api, change: dict[str, object], field: str
) -> None:
    body = SCHOOL_A.model_dump(mode="json") | change
    resp = await api.client.put(
        f"/v1/settings/{SCHOOL_A.id}", json=body, headers=await api.as_("admin")
    )
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert (error["code"], error["field"]) == ("validation_error", field)


@SQLITE_ONLY
async def test_nested_field_is_named_by_its_dotted_path(api: Api) -> None:
    body = learner(UPN_NEW).model_dump(mode="json")
    body["flags"]["social_worker_email"] = "not-an-email"
    body["sharing_restrictions"] = ["ok", "not valid!"]
    resp = await api.client.put(
        f"/v1/learners/{UPN_NEW}", json=body, headers=await api.as_("admin")
    )
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["field"] == "flags.social_worker_email"
    assert "1 more problem" in error["message"]


@SQLITE_ONLY
async def test_bad_upn_check_letter_in_path_is_400(api: Api) -> None:
    wrong = ("A" if UPN_NEW[0] != "A" else "B") + UPN_NEW[1:]
    body = learner(UPN_NEW).model_dump(mode="json")
    resp = await api.client.put(f"/v1/learners/{wrong}", json=body, headers=await api.as_("admin"))
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert (error["code"], error["field"]) == ("invalid_parameter", "upn")


@SQLITE_ONLY
async def test_registration_naming_unknown_records_is_422(world: Api) -> None:
    headers = await world.as_("admin")
    unknown_setting = {
        "upn": UPN_A,
        "setting_id": "1110001",
        "status": "single",
        "start_date": "2025-10-01",
    }
    resp = await world.client.post("/v1/registrations", json=unknown_setting, headers=headers)
    assert resp.status == 422
    assert (await resp.json())["error"]["field"] == "setting_id"
    unknown_learner = unknown_setting | {"setting_id": SCHOOL_A.id, "upn": UPN_NEW}
    resp = await world.client.post("/v1/registrations", json=unknown_learner, headers=headers)
    assert resp.status == 422
    assert (await resp.json())["error"]["field"] == "upn"
    backwards = unknown_setting | {"setting_id": SCHOOL_A.id, "end_date": "2025-01-01"}
    resp = await world.client.post("/v1/registrations", json=backwards, headers=headers)
    assert resp.status == 422
    assert "end_date is before start_date" in (await resp.json())["error"]["message"]


@SQLITE_ONLY
async def test_calendar_of_unknown_setting_is_404(api: Api) -> None:
    resp = await api.client.put(
        "/v1/settings/1110001/calendar", json={"school_days": []}, headers=await api.as_("admin")
    )
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
