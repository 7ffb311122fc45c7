"""The MyConcern emulator standalone and its own validation, over plain HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from typing import Any

import aiohttp


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_python_dash_m_serves_the_concern_api() -> None:
    port = _free_port()
    env = {**os.environ, "HUB_MYCONCERN_EMULATOR_TOKEN": "standalone-token"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub_myconcern.emulator", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            body: Any = None
            for _ in range(200):  # bounded: 200 x 50 ms
                try:
                    async with session.get(
                        f"http://127.0.0.1:{port}/api/v1/whoami",
                        headers={"Authorization": "Bearer standalone-token"},
                    ) as resp:
                        body = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            assert body is not None, "the emulator did not start"
            assert "concerns:write" in body["scopes"]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


async def test_create_validates_and_refuses_a_duplicate_reference(rig: Any) -> None:
    url = f"{rig.base_url}/api/v1/concerns"
    headers = {"Authorization": "Bearer synthetic-test-token"}
    body = {
        "external_reference": "ref-1",
        "category": "Attendance",
        "urgency": "high",
        "subject": {"upn": rig.known_upn},
        "summary": "synthetic",
    }
    async with rig.session.post(url, json={**body, "urgency": "whenever"}, headers=headers) as r:
        assert r.status == 422
    async with rig.session.post(url, json={**body, "subject": {"upn": "X"}}, headers=headers) as r:
        assert r.status == 422
    async with rig.session.post(url, json=body, headers=headers) as resp:
        assert resp.status == 201
        created = (await resp.json())["concern"]
    async with rig.session.post(url, json=body, headers=headers) as resp:
        assert resp.status == 409
        assert (await resp.json())["error"]["existing_id"] == created["id"]
    assert len(rig.state.concerns) == 1


async def test_listing_is_paged(rig: Any) -> None:
    for n in range(3):
        await rig.adapter.raise_concern(rig.alert(notification_id=f"n{n}"), f"key-{n}")
    headers = {"Authorization": "Bearer synthetic-test-token"}
    async with rig.session.get(
        f"{rig.base_url}/api/v1/concerns", params={"per_page": "2", "page": "2"}, headers=headers
    ) as resp:
        body = await resp.json()
    assert (len(body["concerns"]), body["page"], body["total_pages"]) == (1, 2, 2)


async def test_reset_clears_concerns_but_keeps_the_pupils(rig: Any) -> None:
    await rig.adapter.raise_concern(rig.alert(), "k")
    await rig.control("reset")
    assert rig.state.concerns == {}
    assert rig.known_upn in rig.state.pupils
