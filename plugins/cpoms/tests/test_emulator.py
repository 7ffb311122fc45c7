"""The CPOMS emulator standalone and its own validation, over plain HTTP."""

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


async def test_python_dash_m_serves_the_incident_api() -> None:
    port = _free_port()
    env = {**os.environ, "HUB_CPOMS_EMULATOR_TOKEN": "standalone-token"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub_cpoms.emulator", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            body: Any = None
            for _ in range(200):  # bounded: 200 x 50 ms
                try:
                    async with session.get(
                        f"http://127.0.0.1:{port}/api/categories",
                        headers={"Authorization": "Bearer standalone-token"},
                    ) as resp:
                        body = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            assert body is not None, "the emulator did not start"
            assert body["meta"] == {"page": 1, "pages": 3}
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


async def test_create_validates_and_refuses_a_taken_external_ref(rig: Any) -> None:
    url = f"{rig.base_url}/api/incidents"
    headers = {"Authorization": "Bearer synthetic-test-token"}
    data = {
        "student_id": rig.student_id,
        "incident_date": "2025-01-20",
        "description": "synthetic",
        "category_ids": [10],
        "external_ref": "ref-1",
    }
    async with rig.session.post(
        url, json={"data": {**data, "student_id": 1, "category_ids": [999]}}, headers=headers
    ) as resp:
        assert resp.status == 422
        fields = {e["field"] for e in (await resp.json())["errors"]}
        assert fields == {"student_id", "category_ids"}
    async with rig.session.post(url, json={"data": data}, headers=headers) as resp:
        assert resp.status == 201
    async with rig.session.post(url, json={"data": data}, headers=headers) as resp:
        assert resp.status == 422
        assert (await resp.json())["errors"] == [{"field": "external_ref", "code": "taken"}]
    assert len(rig.state.incidents) == 1


async def test_reset_clears_incidents_but_keeps_the_students(rig: Any) -> None:
    await rig.adapter.raise_concern(rig.alert(), "k")
    await rig.control("reset")
    assert rig.state.incidents == {}
    assert rig.student_id in rig.state.students


async def test_a_malformed_control_request_is_a_400_not_a_crash(rig: Any) -> None:
    async with rig.session.post(f"{rig.base_url}/_emulator/students", json={}) as resp:
        assert resp.status == 400
