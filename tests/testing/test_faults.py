"""The shared fault toolkit: what each fault does on the wire, seen through the core's client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from hub.engine.http import ConnectionHttpClient
from hub.sdk import AuthError, ContractViolation, HttpResponse, RateLimited, TransientError
from hub.testing import Fault, FaultPlan, honour_empty_last_page, install_faults, serve_emulator

PLAN = web.AppKey("test_plan", FaultPlan)
BODY = {"value": list(range(200))}


async def listing(request: web.Request) -> web.Response:
    empty_last = honour_empty_last_page(request)
    return web.json_response({**BODY, "next": "/items?page=2" if empty_last else None})


async def ping(request: web.Request) -> web.Response:
    return web.json_response({"pong": True})


@dataclass
class Rig:
    plan: FaultPlan
    client: ConnectionHttpClient
    session: aiohttp.ClientSession
    base: str
    resets: list[bool]

    async def get(self, path: str = "/items") -> HttpResponse:
        return await self.client.request("GET", self.base + path)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    app = web.Application()
    resets: list[bool] = []
    plan = install_faults(app, PLAN, on_reset=lambda: resets.append(True))
    app.router.add_get("/items", listing)
    app.router.add_get("/ping", ping)
    runner, base = await serve_emulator(app)
    try:
        async with aiohttp.ClientSession() as session:
            client = ConnectionHttpClient(
                session,
                connection_name="faults",
                allowed_hosts=(),
                base_url=base,
                default_timeout=1.0,
            )
            yield Rig(plan, client, session, base, resets)
    finally:
        await runner.cleanup()


async def test_rate_limit_sends_429_with_retry_after(rig: Rig) -> None:
    rig.plan.configure([Fault.RATE_LIMIT], retry_after=3)
    response = await rig.get()
    assert (response.status, response.header("retry-after")) == (429, "3")
    with pytest.raises(RateLimited) as caught:
        response.raise_for_status()
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param(Fault.SERVER_ERROR, TransientError, id="5xx"),
        pytest.param(Fault.UNAUTHORIZED, AuthError, id="401"),
    ],
)
async def test_error_statuses(rig: Rig, fault: Fault, error: type[Exception]) -> None:
    rig.plan.configure([fault])
    with pytest.raises(error):
        (await rig.get()).raise_for_status()
    assert (await rig.get()).status == 200  # one fault per queued entry


async def test_timeout_holds_the_response_past_the_client_timeout(rig: Rig) -> None:
    rig.plan.configure([Fault.TIMEOUT], timeout_seconds=30)
    with pytest.raises(TransientError, match="timed out"):
        await rig.get()


async def test_reset_twice_reaches_the_client_as_a_transport_error(rig: Rig) -> None:
    await rig.get("/ping")  # a pooled connection, which aiohttp retries once when reset
    rig.plan.configure([Fault.RESET, Fault.RESET])
    with pytest.raises(TransientError):
        await rig.get()


async def test_truncated_body_is_shorter_than_its_content_length(rig: Rig) -> None:
    rig.plan.configure([Fault.TRUNCATED])
    try:
        response = await rig.get()
    except TransientError:
        return  # the client noticed the short body itself
    assert len(response.body) < int(response.header("content-length") or 0)
    with pytest.raises(ContractViolation):
        response.json()


async def test_malformed_body_is_a_200_that_is_not_json(rig: Rig) -> None:
    rig.plan.configure([Fault.MALFORMED])
    response = await rig.get()
    assert response.status == 200
    with pytest.raises(ContractViolation):
        response.json()


async def test_empty_last_page_waits_for_a_paging_endpoint(rig: Rig) -> None:
    rig.plan.configure([Fault.EMPTY_LAST_PAGE])
    assert (await rig.get("/ping")).json() == {"pong": True}
    assert rig.plan.queue == [Fault.EMPTY_LAST_PAGE]
    assert (await rig.get()).json()["next"] == "/items?page=2"
    assert (await rig.get()).json()["next"] is None
    assert rig.plan.injected[Fault.EMPTY_LAST_PAGE.value] == 1


async def test_path_prefix_and_control_endpoints_are_never_faulted(rig: Rig) -> None:
    rig.plan.configure([Fault.SERVER_ERROR], path_prefix="/items")
    assert (await rig.get("/ping")).status == 200
    assert (await rig.get("/_emulator/faults")).status == 200
    assert (await rig.get()).status == 503


async def test_random_faults_follow_the_ratio_and_the_seed(rig: Rig) -> None:
    def draws(seed: int) -> list[Fault | None]:
        plan = FaultPlan(ratio=0.5, seed=seed)
        return [plan.next_fault("/items") for _ in range(200)]

    assert draws(3) == draws(3)
    injected = sum(fault is not None for fault in draws(3))
    assert 60 < injected < 140


async def test_control_routes_set_read_and_reset_the_plan(rig: Rig) -> None:
    url = rig.base + "/_emulator/faults"
    async with rig.session.post(url, json={"queue": ["429", "5xx"], "retry_after": 2}) as resp:
        assert resp.status == 200
    assert rig.plan.queue == [Fault.RATE_LIMIT, Fault.SERVER_ERROR]
    await rig.get()
    async with rig.session.get(url) as resp:
        state = await resp.json()
    assert state["injected"] == {"429": 1} and state["queue"] == ["5xx"]
    async with rig.session.post(url, json={"queue": ["nonsense"]}) as resp:
        assert resp.status == 400
    async with rig.session.post(rig.base + "/_emulator/reset") as resp:
        assert resp.status == 200
    assert rig.plan.queue == [] and not rig.plan.injected and rig.resets == [True]
