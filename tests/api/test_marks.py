"""The register through real HTTP: POST /v1/marks, a learner's marks with history, attendance."""

from __future__ import annotations

import datetime as dt
import json

from hub.store import QuarantineRepository

from .conftest import (
    NOW,
    PROVIDER_A,
    SCHOOL_A,
    SCHOOL_B,
    SQLITE_ONLY,
    TUESDAY,
    UPN_A,
    UPN_B,
    UPN_NEW,
    Api,
    learner,
    mark_body,
)


async def test_mixed_batch_accepts_the_good_rejects_the_bad_and_runs_the_rules(
    world: Api,
) -> None:
    batch = [
        mark_body(),  # 0: accepted
        mark_body(code="K"),  # 1: K is not in the Welsh code set
        mark_body(upn=UPN_NEW),  # 2: not on any roll
        mark_body(setting_id=PROVIDER_A.id, session="PM"),  # 3: accepted (placement provider)
        {"upn": UPN_A},  # 4: invalid
        "not an object",  # 5: invalid
    ]
    resp = await world.client.post(
        "/v1/marks", json={"marks": batch}, headers=await world.as_("admin")
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["accepted"] == 2
    by_index = {r["index"]: r["error"] for r in body["rejected"]}
    assert sorted(by_index) == [1, 2, 4, 5]
    assert by_index[1]["code"] == "code_not_in_force" and by_index[1]["field"] == "code"
    assert by_index[2]["code"] == "not_registered" and by_index[2]["field"] == "setting_id"
    assert by_index[4]["code"] == "invalid"
    assert set(by_index[4]) == {"code", "message", "field"}

    # The rules ran inside the request's transaction, before the reply: the spy saw the stored
    # marks and its finding is already committed.
    assert len(world.rules.calls) == 1 and len(world.rules.calls[0]) == 2
    assert world.rules.saw_marks == [True]
    found = await world.client.get(
        "/v1/discrepancies", params={"upn": UPN_A}, headers=await world.as_("admin")
    )
    assert len((await found.json())["items"]) == 2

    async with world.session() as session:
        quarantined = await QuarantineRepository(session).list()
    assert len(quarantined) == 4
    assert {q.source for q in quarantined} == {"token-admin"}
    assert {q.reason.split(":")[0] for q in quarantined} == {
        "code_not_in_force",
        "not_registered",
        "invalid",
    }


async def test_marks_outside_the_token_scope_are_rejected_one_by_one(world: Api) -> None:
    batch = [
        mark_body(),  # own setting: accepted
        mark_body(upn=UPN_B, setting_id=SCHOOL_B.id),  # another LA's school: forbidden
    ]
    resp = await world.client.post(
        "/v1/marks", json={"marks": batch}, headers=await world.as_(f"setting:{SCHOOL_A.id}")
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {
            "index": 1,
            "error": {
                "code": "forbidden",
                "message": "the token's scope does not cover this mark's setting",
                "field": "setting_id",
            },
        }
    ]
    async with world.session() as session:
        quarantined = await QuarantineRepository(session).list()
    assert [q.reason.split(":")[0] for q in quarantined] == ["forbidden"]
    assert json.loads(quarantined[0].raw_payload)["setting_id"] == SCHOOL_B.id


async def test_resending_the_same_marks_changes_nothing(world: Api) -> None:
    headers = await world.as_("admin")
    for _ in range(2):
        resp = await world.client.post("/v1/marks", json={"marks": [mark_body()]}, headers=headers)
        assert (await resp.json())["accepted"] == 1
    assert len(world.rules.calls) == 1  # the second, identical, post changed no cell


async def test_amended_mark_keeps_its_history(world: Api) -> None:
    headers = await world.as_(f"setting:{SCHOOL_A.id}")
    later = NOW + dt.timedelta(hours=1)
    await world.client.post("/v1/marks", json={"marks": [mark_body(code="N")]}, headers=headers)
    await world.client.post(
        "/v1/marks",
        json={"marks": [mark_body(code="I", recorded_at=later), mark_body(day=TUESDAY)]},
        headers=headers,
    )
    resp = await world.client.get(
        f"/v1/learners/{UPN_A}/marks",
        params={"from": "2025-11-03", "to": "2025-11-04"},
        headers=headers,
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["upn"], body["from"], body["to"]) == (UPN_A, "2025-11-03", "2025-11-04")
    cells = body["marks"]
    assert [(c["date"], c["session"], c["setting_id"], c["code"]) for c in cells] == [
        ("2025-11-03", "AM", SCHOOL_A.id, "I"),
        ("2025-11-04", "AM", SCHOOL_A.id, "/"),
    ]
    amended = cells[0]
    assert amended["amended"] is True
    assert [(h["code"], h["current"]) for h in amended["history"]] == [("N", False), ("I", True)]
    assert cells[1]["amended"] is False and len(cells[1]["history"]) == 1

    narrow = await world.client.get(
        f"/v1/learners/{UPN_A}/marks", params={"from": "2025-11-04"}, headers=headers
    )
    assert [c["date"] for c in (await narrow.json())["marks"]] == ["2025-11-04"]


async def test_attendance_counts_the_current_marks(world: Api) -> None:
    headers = await world.as_("la:999")
    marks = [
        mark_body(day=dt.date(2025, 11, 3), session="AM", code="/"),
        mark_body(day=dt.date(2025, 11, 3), session="PM", code="B"),
        mark_body(day=dt.date(2025, 11, 4), session="AM", code="I"),
        mark_body(day=dt.date(2025, 11, 4), session="PM", code="O"),
        mark_body(day=dt.date(2025, 11, 5), session="AM", code="#"),
    ]
    resp = await world.client.post("/v1/marks", json={"marks": marks}, headers=headers)
    assert (await resp.json())["accepted"] == 5
    resp = await world.client.get(f"/v1/learners/{UPN_A}/attendance", headers=headers)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {
        "possible_sessions": 4,
        "present": 1,
        "aea": 1,
        "authorised": 1,
        "unauthorised": 1,
        "not_counted": 1,
        "attendance_pct": 50.0,
        "persistent_absence": True,
    }
    resp = await world.client.get(
        f"/v1/learners/{UPN_A}/attendance",
        params={"setting_id": SCHOOL_A.id, "from": "2025-11-04", "to": "2025-11-04"},
        headers=headers,
    )
    body = await resp.json()
    assert (body["possible_sessions"], body["attendance_pct"]) == (2, 0.0)


@SQLITE_ONLY
async def test_setting_token_cannot_read_a_learner_only_on_another_roll(world: Api) -> None:
    await world.client.post(
        "/v1/marks",
        json={"marks": [mark_body(upn=UPN_B, setting_id=SCHOOL_B.id)]},
        headers=await world.as_("admin"),
    )
    for headers in (await world.as_(f"setting:{SCHOOL_A.id}"), await world.as_("la:999")):
        for path in (f"/v1/learners/{UPN_B}/marks", f"/v1/learners/{UPN_B}/attendance"):
            resp = await world.client.get(path, headers=headers)
            assert resp.status == 404, path
            # Same answer as for a UPN the hub has never seen: existence is not revealed.
            unknown = await world.client.get(path.replace(UPN_B, UPN_NEW), headers=headers)
            assert await resp.json() == await unknown.json()
    resp = await world.client.get(
        f"/v1/learners/{UPN_B}/marks", headers=await world.as_(f"setting:{SCHOOL_B.id}")
    )
    assert resp.status == 200 and len((await resp.json())["marks"]) == 1


@SQLITE_ONLY
async def test_provider_token_reads_its_placed_learner(world: Api) -> None:
    resp = await world.client.get(
        f"/v1/learners/{UPN_A}/marks", headers=await world.as_(f"setting:{PROVIDER_A.id}")
    )
    assert resp.status == 200


@SQLITE_ONLY
async def test_sharing_restriction_limits_marks_to_the_restricted_settings_own(
    world: Api,
) -> None:
    admin = await world.as_("admin")
    restricted = learner(UPN_A, sharing_restrictions=[PROVIDER_A.id]).model_dump(mode="json")
    assert (
        await world.client.put(f"/v1/learners/{UPN_A}", json=restricted, headers=admin)
    ).status == 200
    await world.client.post(
        "/v1/marks",
        json={"marks": [mark_body(), mark_body(setting_id=PROVIDER_A.id, session="PM")]},
        headers=admin,
    )
    provider = await world.client.get(
        f"/v1/learners/{UPN_A}/marks", headers=await world.as_(f"setting:{PROVIDER_A.id}")
    )
    assert [c["setting_id"] for c in (await provider.json())["marks"]] == [PROVIDER_A.id]
    school = await world.client.get(
        f"/v1/learners/{UPN_A}/marks", headers=await world.as_(f"setting:{SCHOOL_A.id}")
    )
    assert len((await school.json())["marks"]) == 2


@SQLITE_ONLY
async def test_outbox_wakeup_is_set_after_the_marks_commit(world: Api) -> None:
    world.runtime.outbox_wakeup.clear()
    resp = await world.client.post(
        "/v1/marks", json={"marks": [mark_body()]}, headers=await world.as_("admin")
    )
    assert resp.status == 200
    assert world.runtime.outbox_wakeup.is_set()


@SQLITE_ONLY
async def test_marks_envelope_must_be_a_list(world: Api) -> None:
    headers = await world.as_("admin")
    for body in ({"marks": {"0": mark_body()}}, {}, {"marks": [], "extra": True}):
        resp = await world.client.post("/v1/marks", json=body, headers=headers)
        assert resp.status == 422, body
        assert (await resp.json())["error"]["field"] in {"marks", "extra"}
