"""Bearer tokens and scopes: 401 for missing, unknown, expired or revoked tokens; 403 when the
scope does not cover the target; `la:` tokens see only their LA."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.store import TokenRepository

from .conftest import SCHOOL_A, SCHOOL_B, SQLITE_ONLY, UPN_A, UPN_B, Api, mark_body

pytestmark = SQLITE_ONLY


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "missing_token", id="no-header"),
        pytest.param("Basic dXNlcjpwYXNz", "missing_token", id="not-bearer"),
        pytest.param("Bearer ", "missing_token", id="empty-bearer"),
        pytest.param("Bearer hub_not-a-real-token", "invalid_token", id="unknown"),
        pytest.param("Bearer something-else", "invalid_token", id="no-prefix"),
    ],
)
async def test_missing_or_invalid_token_is_401_with_a_challenge(
    api: Api, authorization: str | None, code: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    resp = await api.client.get("/v1/discrepancies", headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await resp.json())["error"] == {
        "code": code,
        "message": (await resp.json())["error"]["message"],
        "field": None,
    }


async def test_expired_token_is_401(api: Api) -> None:
    token = await api.token("admin", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    resp = await api.client.get("/v1/discrepancies", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_token"


async def test_revoked_token_is_401_on_the_next_request(api: Api) -> None:
    token = await api.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/v1/discrepancies", headers=headers)).status == 200
    async with api.session() as session, session.begin():
        info = await TokenRepository(session).verify(token, now=dt.datetime.now(dt.UTC))
        assert info is not None
        await TokenRepository(session).revoke(info.id, now=dt.datetime.now(dt.UTC))
    assert (await api.client.get("/v1/discrepancies", headers=headers)).status == 401


async def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    token = await api.token("admin")
    resp = await api.client.get("/v1/plugins", headers={"Authorization": f"bearer {token}"})
    assert resp.status == 200


@pytest.mark.parametrize("path", ["/v1/plugins", "/v1/connections"])
@pytest.mark.parametrize("scope", ["la:999", f"setting:{SCHOOL_A.id}"])
async def test_operator_endpoints_need_admin(api: Api, path: str, scope: str) -> None:
    resp = await api.client.get(path, headers=await api.as_(scope))
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"


async def test_open_endpoints_need_no_token(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/v1/openapi.json"):
        assert (await api.client.get(path)).status == 200, path


async def test_la_token_sees_only_its_las_learners(world: Api) -> None:
    la_999 = await world.as_("la:999")
    assert (await world.client.get(f"/v1/learners/{UPN_A}/marks", headers=la_999)).status == 200
    assert (await world.client.get(f"/v1/learners/{UPN_B}/marks", headers=la_999)).status == 404
    la_888 = await world.as_("la:888")
    assert (await world.client.get(f"/v1/learners/{UPN_B}/marks", headers=la_888)).status == 200
    assert (await world.client.get(f"/v1/learners/{UPN_A}/marks", headers=la_888)).status == 404


async def test_la_token_posts_marks_only_for_its_las_settings(world: Api) -> None:
    batch = [mark_body(), mark_body(upn=UPN_B, setting_id=SCHOOL_B.id)]
    resp = await world.client.post(
        "/v1/marks", json={"marks": batch}, headers=await world.as_("la:888")
    )
    body = await resp.json()
    assert body["accepted"] == 1
    assert [(r["index"], r["error"]["code"]) for r in body["rejected"]] == [(0, "forbidden")]


async def test_token_with_several_scopes_reaches_their_union(world: Api) -> None:
    token = await world.token(f"setting:{SCHOOL_A.id}", "la:888")
    headers = {"Authorization": f"Bearer {token}"}
    for upn in (UPN_A, UPN_B):
        assert (await world.client.get(f"/v1/learners/{upn}/marks", headers=headers)).status == 200
