"""GET /v1/discrepancies and GET /v1/notifications: filters by the parameters given (without
`status`, every status) and by the token's scope. Rows are stored with the repositories."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub.store import DiscrepancyRepository, NotificationRepository
from hub_contracts import Discrepancy, Notification

from .conftest import NOW, PROVIDER_A, SCHOOL_A, SCHOOL_B, SQLITE_ONLY, UPN_A, UPN_B, Api


def discrepancy(id_: str, **values: Any) -> Discrepancy:
    base: dict[str, Any] = {
        "id": id_,
        "kind": "dual_conflict",
        "severity": "warning",
        "upn": UPN_A,
        "date": "2025-11-03",
        "session": "AM",
        "setting_ids": [SCHOOL_A.id, PROVIDER_A.id],
        "detail": "synthetic finding",
    }
    return Discrepancy.model_validate(base | values)


def notification(id_: str, **values: Any) -> Notification:
    base: dict[str, Any] = {
        "id": id_,
        "kind": "dual_absence_notice",
        "upn": UPN_A,
        "recipient": f"setting:{PROVIDER_A.id}",
        "created_at": NOW,
        "payload": {"note": "synthetic"},
    }
    return Notification.model_validate(base | values)


@pytest.fixture
async def findings(world: Api) -> Api:
    async with world.session() as session, session.begin():
        repo = DiscrepancyRepository(session)
        await repo.record(discrepancy("d-open"), now=NOW)
        await repo.record(discrepancy("d-resolved", status="resolved"), now=NOW)
        await repo.record(
            discrepancy("d-b", upn=UPN_B, kind="b_unscheduled", setting_ids=[SCHOOL_B.id]),
            now=NOW,
        )
        notes = NotificationRepository(session)
        await notes.add(notification("n-a"))
        await notes.add(
            notification(
                "n-a-late",
                kind="deletion_return",
                recipient="la",
                status="failed",
                due_by=NOW - dt.timedelta(days=1),
            )
        )
        await notes.add(notification("n-b", upn=UPN_B, recipient="la", kind="cme_referral"))
        await notes.add(
            notification(
                "n-return-999",
                kind="absence_return",
                upn=None,
                recipient="la",
                payload={"la_code": "999"},
            )
        )
    return world


def ids(body: dict[str, Any]) -> list[str]:
    return sorted(item["id"] for item in body["items"])


async def test_discrepancies_filter_only_by_what_is_given(findings: Api) -> None:
    admin = await findings.as_("admin")

    async def get(**params: str) -> list[str]:
        resp = await findings.client.get("/v1/discrepancies", params=params, headers=admin)
        assert resp.status == 200, await resp.text()
        return ids(await resp.json())

    assert await get() == ["d-b", "d-open", "d-resolved"]
    assert await get(status="open") == ["d-b", "d-open"]
    assert await get(status="resolved") == ["d-resolved"]
    assert await get(upn=UPN_A) == ["d-open", "d-resolved"]
    assert await get(setting_id=PROVIDER_A.id, status="open") == ["d-open"]
    assert await get(kind="b_unscheduled") == ["d-b"]


async def test_notifications_filter_only_by_what_is_given(findings: Api) -> None:
    admin = await findings.as_("admin")

    async def get(**params: str) -> list[str]:
        resp = await findings.client.get("/v1/notifications", params=params, headers=admin)
        assert resp.status == 200, await resp.text()
        return ids(await resp.json())

    assert await get() == ["n-a", "n-a-late", "n-b", "n-return-999"]
    assert await get(status="failed") == ["n-a-late"]
    assert await get(kind="cme_referral") == ["n-b"]
    assert await get(recipient="la", upn=UPN_A) == ["n-a-late"]
    body = await (
        await findings.client.get("/v1/notifications", params={"upn": UPN_A}, headers=admin)
    ).json()
    late = next(item for item in body["items"] if item["id"] == "n-a-late")
    assert late["due_by"] is not None and late["status"] == "failed"


@SQLITE_ONLY
async def test_lists_keep_only_what_the_token_reaches(findings: Api) -> None:
    async def get(path: str, scope: str, **params: str) -> list[str]:
        resp = await findings.client.get(path, params=params, headers=await findings.as_(scope))
        assert resp.status == 200
        return ids(await resp.json())

    assert await get("/v1/discrepancies", "la:999") == ["d-open", "d-resolved"]
    assert await get("/v1/discrepancies", "la:888") == ["d-b"]
    assert await get("/v1/discrepancies", f"setting:{PROVIDER_A.id}") == ["d-open", "d-resolved"]
    # Asking for another setting's findings yields nothing rather than an error.
    assert await get("/v1/discrepancies", "la:888", setting_id=SCHOOL_A.id) == []

    assert await get("/v1/notifications", "la:999") == ["n-a", "n-a-late", "n-return-999"]
    assert await get("/v1/notifications", "la:888") == ["n-b"]
    assert await get("/v1/notifications", f"setting:{SCHOOL_B.id}") == ["n-b"]
    # A setting token does not see its LA's periodic return (no single learner).
    assert await get("/v1/notifications", f"setting:{SCHOOL_A.id}") == ["n-a", "n-a-late"]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        pytest.param("/v1/discrepancies", {"status": "closed"}, "status", id="bad-status"),
        pytest.param("/v1/discrepancies", {"kind": "nope"}, "kind", id="bad-kind"),
        pytest.param("/v1/discrepancies", {"upn": "A123"}, "upn", id="bad-upn"),
        pytest.param("/v1/discrepancies", {"stauts": "open"}, "stauts", id="typo-parameter"),
        pytest.param("/v1/notifications", {"kind": "letter"}, "kind", id="bad-notification-kind"),
    ],
)
async def test_bad_list_parameters_are_400_naming_them(
    findings: Api, path: str, params: dict[str, str], field: str
) -> None:
    resp = await findings.client.get(path, params=params, headers=await findings.as_("admin"))
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert (error["code"], error["field"]) == ("invalid_parameter", field)
