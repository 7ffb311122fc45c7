"""The One emulator as a standalone server and its own validation, over plain HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from typing import Any

import aiohttp

from hub_one.emulator import DEFAULT_API_KEY


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_python_dash_m_serves_the_synthetic_la() -> None:
    port = _free_port()
    env = {**os.environ, "HUB_ONE_EMULATOR_API_KEY": "standalone-key"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub_one.emulator", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            body: Any = None
            for _ in range(200):  # bounded: 200 x 50 ms
                try:
                    async with session.get(
                        f"http://127.0.0.1:{port}/v1/roll",
                        headers={"X-API-Key": "standalone-key"},
                    ) as resp:
                        body = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            assert body is not None, "the emulator did not start"
            assert len(body["items"]) == 4
            assert body["has_more"] is False
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
    assert DEFAULT_API_KEY != "standalone-key"


async def test_submissions_need_an_idempotency_key_and_valid_upns(rig: Any) -> None:
    url = f"{rig.base_url}/v1/returns"
    headers = {"X-API-Key": "synthetic-test-key"}
    body = {
        "type": "deletion_return",
        "hub_notification_id": "n-1",
        "la_code": "999",
        "learners": [{"upn": rig.known_upn}],
        "details": {},
    }
    async with rig.session.post(url, json=body, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "IdempotencyKeyRequired"
    bad = {**body, "learners": [{"upn": "A00000000000X"}]}
    async with rig.session.post(url, json=bad, headers={**headers, "Idempotency-Key": "k"}) as resp:
        assert resp.status == 422
        assert "learners[0].upn" in (await resp.json())["error"]["message"]
    two = {**body, "learners": [{"upn": rig.known_upn}, {"upn": rig.dual_upn}]}
    async with rig.session.post(url, json=two, headers={**headers, "Idempotency-Key": "k"}) as resp:
        assert resp.status == 422
    assert rig.state.submissions == {}


async def test_reset_restores_the_seed(rig: Any) -> None:
    rig.state.upsert("roll", "EXTRA", {"registration_id": "EXTRA"})
    async with rig.session.post(f"{rig.base_url}/_emulator/reset") as resp:
        assert resp.status == 200
    assert set(rig.state.streams["roll"]) == {"R1", "R2", "R3", "R4", "R5"}


async def test_limit_is_capped_by_the_server(rig: Any) -> None:
    async with rig.session.get(
        f"{rig.base_url}/v1/roll",
        params={"limit": "100000"},
        headers={"X-API-Key": "synthetic-test-key"},
    ) as resp:
        body = await resp.json()
    assert len(body["items"]) == 5  # max_page_size 50 caps it; all five fit
    assert body["has_more"] is False


async def test_a_malformed_control_request_is_a_400_not_a_crash(rig: Any) -> None:
    async with rig.session.post(f"{rig.base_url}/_emulator/learners", json={}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "BadControlRequest"
