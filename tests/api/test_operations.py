"""Operator endpoints (plugins, connections) and vendor webhooks through real HTTP."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hub.engine.health import record_success
from hub.sdk import sign_hmac_sha256
from hub.store import CursorRepository, LearnerRepository, MarkRepository

from .conftest import (
    NOW,
    SCHOOL_A,
    SQLITE_ONLY,
    UPN_A,
    UPN_NEW,
    WEBHOOK_SECRET,
    Api,
    learner,
    mark_body,
)


async def test_plugins_lists_the_inventory(api: Api) -> None:
    resp = await api.client.get("/v1/plugins", headers=await api.as_("admin"))
    assert resp.status == 200
    (entry,) = (await resp.json())["items"]
    assert (entry["name"], entry["status"]) == ("vendors", "loaded")
    assert entry["adapters"] == ["push", "pull"]
    assert "receive_webhook" in entry["capabilities"]


async def test_connections_show_sync_state_without_secrets(api: Api) -> None:
    async with api.session() as session, session.begin():
        cursors = CursorRepository(session)
        await cursors.set("pull-vendor", "marks", '{"since": "secret-ish-cursor"}', now=NOW)
        await cursors.set("pull-vendor", "roll", None, now=NOW)
        assert await cursors.acquire_lease("pull-vendor", "worker-1", lease_seconds=60, now=NOW)
        await record_success(session, "pull-vendor", now=NOW)
    resp = await api.client.get("/v1/connections", headers=await api.as_("admin"))
    assert resp.status == 200
    text = await resp.text()
    assert "secret-ish-cursor" not in text and "API_TEST_PUSH_SECRET" not in text
    items = {item["name"]: item for item in json.loads(text)["items"]}
    assert list(items) == ["push-vendor", "pull-vendor", "off-vendor"]
    pull = items["pull-vendor"]
    assert (pull["plugin"], pull["enabled"]) == ("pull", True)
    assert [(s["stream"], s["cursor_present"]) for s in pull["streams"]] == [
        ("marks", True),
        ("roll", False),
    ]
    assert pull["lease"]["owner"] == "worker-1"
    assert (pull["status"], pull["configured"]) == ("ok", True)
    assert pull["last_success_at"] is not None
    assert items["push-vendor"]["status"] == "never_run"
    assert items["push-vendor"]["streams"] == [] and items["push-vendor"]["lease"] is None
    assert items["off-vendor"]["enabled"] is False


# --- webhooks ------------------------------------------------------------------------------


def signed(payload: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + sign_hmac_sha256(secret.encode(), body)
    return body, {"X-Push-Signature": signature, "X-Hub-Delivery": "delivery-1"}


def push_payload() -> dict[str, Any]:
    return {
        "learners": [learner(UPN_NEW).model_dump(mode="json")],
        "registrations": [
            {
                "upn": UPN_NEW,
                "setting_id": SCHOOL_A.id,
                "status": "single",
                "start_date": "2025-09-01",
            }
        ],
        "marks": [mark_body(upn=UPN_NEW), mark_body(upn=UPN_NEW, code="K")],
    }


async def test_signed_webhook_is_ingested_like_a_sync_page(world: Api) -> None:
    body, headers = signed(push_payload())
    resp = await world.client.post("/v1/webhooks/push-vendor", data=body, headers=headers)
    assert resp.status == 200, await resp.text()
    reply = await resp.json()
    assert reply["connection"] == "push-vendor"
    assert (reply["accepted"], reply["reference_changed"]) == (1, 2)
    assert [(r["index"], r["error"]["code"]) for r in reply["rejected"]] == [
        (1, "code_not_in_force")
    ]
    assert len(world.rules.calls) == 1
    async with world.session() as session:
        assert await LearnerRepository(session).get(UPN_NEW) is not None
        stored = await MarkRepository(session).current_for_learner(
            UPN_NEW, dt.date(2025, 11, 1), dt.date(2025, 11, 30)
        )
    assert [m.code for m in stored] == ["/"]

    # Redelivery (same delivery id): nothing changes, the rules do not run again.
    again = await world.client.post("/v1/webhooks/push-vendor", data=body, headers=headers)
    assert again.status == 200
    assert (await again.json())["accepted"] == 1
    assert len(world.rules.calls) == 1


@SQLITE_ONLY
async def test_webhook_with_a_bad_signature_is_401_and_stores_nothing(world: Api) -> None:
    body, headers = signed(push_payload(), secret="wrong-secret")
    resp = await world.client.post("/v1/webhooks/push-vendor", data=body, headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_signature"
    async with world.session() as session:
        assert await LearnerRepository(session).get(UPN_NEW) is None


@SQLITE_ONLY
async def test_webhook_body_the_adapter_cannot_map_is_400(world: Api) -> None:
    body, headers = signed({"marks": [{"upn": UPN_A}]})
    resp = await world.client.post("/v1/webhooks/push-vendor", data=body, headers=headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_webhook"


@SQLITE_ONLY
async def test_webhook_for_unknown_disabled_or_pull_only_connection_is_404(api: Api) -> None:
    body, headers = signed({})
    for name, code in (
        ("no-such-connection", "not_found"),
        ("off-vendor", "not_found"),
        ("pull-vendor", "webhooks_not_supported"),
    ):
        resp = await api.client.post(f"/v1/webhooks/{name}", data=body, headers=headers)
        assert resp.status == 404, name
        error = (await resp.json())["error"]
        assert error["code"] == code
    assert "does not receive webhooks" in error["message"]


@SQLITE_ONLY
async def test_webhook_registration_for_an_unknown_learner_is_400_not_500(world: Api) -> None:
    payload = push_payload()
    payload["learners"] = []
    body, headers = signed(payload)
    resp = await world.client.post("/v1/webhooks/push-vendor", data=body, headers=headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_webhook"
