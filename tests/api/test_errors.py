"""Bad input never gets a 500: malformed or deep JSON (400), bad parameters (400), unknown
routes (404), wrong methods (405), oversized bodies (413) — always the one JSON error shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.context import STATE
from hub.api.jsonbody import MAX_JSON_DEPTH

from .conftest import MAX_BODY, SCHOOL_A, SQLITE_ONLY, UPN_A, Api, mark_body

pytestmark = SQLITE_ONLY


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    return dict(body["error"])


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"marks": [', id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b'{"marks": NaN}', id="nan"),
        pytest.param(b"{'marks': []}", id="single-quotes"),
    ],
)
async def test_malformed_json_is_400(api: Api, raw: bytes) -> None:
    resp = await api.client.post(
        "/v1/marks",
        data=raw,
        headers={**await api.as_("admin"), "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert error_of(await resp.json())["code"] == "malformed_json"


async def test_json_that_is_not_an_object_is_422(api: Api) -> None:
    resp = await api.client.post("/v1/marks", json=[mark_body()], headers=await api.as_("admin"))
    assert resp.status == 422
    assert error_of(await resp.json())["code"] == "validation_error"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 100_000])
async def test_deeply_nested_json_is_400(api: Api, depth: int) -> None:
    raw = b'{"marks": ' + b"[" * depth + b"]" * depth + b"}"
    resp = await api.client.post("/v1/marks", data=raw, headers=await api.as_("admin"))
    assert resp.status in (400, 413)  # 100k levels may also be refused for size
    assert error_of(await resp.json())["code"] in ("json_too_deep", "payload_too_large")
    if len(raw) <= MAX_BODY:
        assert resp.status == 400


async def test_oversized_body_is_413_by_content_length(api: Api) -> None:
    raw = json.dumps({"marks": [mark_body(source_ref="x" * 200)] * 400}).encode()
    assert len(raw) > MAX_BODY
    resp = await api.client.post("/v1/marks", data=raw, headers=await api.as_("admin"))
    assert resp.status == 413
    assert error_of(await resp.json())["code"] == "payload_too_large"


async def test_oversized_chunked_body_is_413(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"marks": ["'
        for _ in range(MAX_BODY // 1024 + 4):
            yield b"x" * 1024
        yield b'"]}'

    resp = await api.client.post("/v1/marks", data=chunks(), headers=await api.as_("admin"))
    assert resp.status == 413
    assert error_of(await resp.json())["code"] == "payload_too_large"


async def test_oversized_webhook_is_413_before_the_adapter_sees_it(api: Api) -> None:
    resp = await api.client.post("/v1/webhooks/push-vendor", data=b"x" * (MAX_BODY + 1))
    assert resp.status == 413


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"from": "notadate"}, "from", id="from-not-a-date"),
        pytest.param({"to": "2025-13-01"}, "to", id="to-not-a-date"),
        pytest.param({"from": "2025-11-05", "to": "2025-11-01"}, "to", id="to-before-from"),
        pytest.param({"setting": SCHOOL_A.id}, "setting", id="unknown-parameter"),
    ],
)
async def test_bad_query_parameters_are_400(world: Api, params: dict[str, str], field: str) -> None:
    resp = await world.client.get(
        f"/v1/learners/{UPN_A}/marks", params=params, headers=await world.as_("admin")
    )
    assert resp.status == 400
    error = error_of(await resp.json())
    assert (error["code"], error["field"]) == ("invalid_parameter", field)


async def test_repeated_query_parameter_is_400(world: Api) -> None:
    resp = await world.client.get(
        f"/v1/learners/{UPN_A}/marks?from=2025-11-01&from=2025-11-02",
        headers=await world.as_("admin"),
    )
    assert resp.status == 400
    assert error_of(await resp.json())["field"] == "from"


async def test_parameters_on_an_endpoint_that_takes_none_are_400(api: Api) -> None:
    resp = await api.client.get("/v1/plugins?verbose=1", headers=await api.as_("admin"))
    assert resp.status == 400
    assert error_of(await resp.json())["field"] == "verbose"


async def test_unknown_route_is_404_json(api: Api) -> None:
    for path in ("/v1/nothing-here", "/nope"):
        resp = await api.client.get(path)
        assert resp.status == 404
        assert error_of(await resp.json())["code"] == "not_found"


async def test_wrong_method_is_405_json_with_allow(api: Api) -> None:
    resp = await api.client.delete("/v1/marks", headers=await api.as_("admin"))
    assert resp.status == 405
    assert error_of(await resp.json())["code"] == "method_not_allowed"
    assert resp.headers["Allow"] == "POST"


class ExplodingRules:
    async def after_marks(self, session: AsyncSession, changed: Any, *, now: Any) -> None:
        raise RuntimeError(f"boom for {UPN_A} with secret hub_abc")


async def test_unexpected_failure_is_500_without_details_and_rolls_back(world: Api) -> None:
    world.client.app[STATE].rules = ExplodingRules()
    headers = await world.as_("admin")
    with structlog.testing.capture_logs() as logs:
        resp = await world.client.post("/v1/marks", json={"marks": [mark_body()]}, headers=headers)
    assert resp.status == 500
    error = error_of(await resp.json())
    assert error["code"] == "internal_error"
    assert UPN_A not in json.dumps(error) and "boom" not in error["message"]
    failure = next(e for e in logs if e["event"] == "api_unhandled_error")
    assert failure["error_type"] == "RuntimeError"
    assert UPN_A not in json.dumps(logs, default=str)
    # The transaction rolled back: the mark is not in the register.
    world.client.app[STATE].rules = None
    marks = await world.client.get(f"/v1/learners/{UPN_A}/marks", headers=headers)
    assert (await marks.json())["marks"] == []


async def test_request_id_is_echoed_and_logged_without_upn_or_token(world: Api) -> None:
    headers = await world.as_("admin")
    with structlog.testing.capture_logs() as logs:
        resp = await world.client.get(
            f"/v1/learners/{UPN_A}/marks", headers={**headers, "X-Request-Id": "req-123"}
        )
    assert resp.headers["X-Request-Id"] == "req-123"
    line = next(e for e in logs if e["event"] == "api_request")
    assert line["route"] == "/v1/learners/{upn}/marks"
    assert (line["status"], line["method"]) == (200, "GET")
    assert "duration_ms" in line
    text = json.dumps(logs, default=str)
    assert UPN_A not in text and world.tokens["admin"] not in text
    generated = await world.client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert generated.headers["X-Request-Id"] != "bad id with spaces"
