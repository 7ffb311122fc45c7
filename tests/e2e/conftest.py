"""End to end through the real HTTP API: a HubRuntime on a fresh SQLite database with the
production rules, the real aiohttp app on a loopback test server, and an admin token."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.api.app import create_app
from hub.runtime import HubRuntime
from hub.settings import HubSettings
from hub.store import TokenRepository


@dataclass
class Hub:
    client: TestClient  # type: ignore[type-arg]
    runtime: HubRuntime
    headers: dict[str, str]
    clock: dict[str, dt.datetime] = field(default_factory=dict)

    async def put(self, path: str, body: Any) -> Any:
        resp = await self.client.put(path, json=body, headers=self.headers)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def post(self, path: str, body: Any = None, status: int = 200) -> Any:
        resp = await self.client.post(path, json=body, headers=self.headers)
        assert resp.status == status, await resp.text()
        return await resp.json()

    async def get(self, path: str, **params: str) -> Any:
        resp = await self.client.get(path, params=params, headers=self.headers)
        assert resp.status == 200, await resp.text()
        return await resp.json()


HubFactory = Callable[..., Any]


@pytest.fixture
async def make_hub(tmp_path: Path) -> AsyncIterator[HubFactory]:
    opened: list[tuple[HubRuntime, TestClient]] = []  # type: ignore[type-arg]

    async def make(now: dt.datetime, **settings: Any) -> Hub:
        config = HubSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", **settings)
        runtime = await HubRuntime.open(config, migrate_now=True)
        clock = {"now": now}
        app = create_app(runtime, rules=runtime.rules, clock=lambda: clock["now"])
        client = TestClient(TestServer(app))
        await client.start_server()
        async with runtime.sessions.begin() as session:
            token, _ = await TokenRepository(session).create("e2e", ["admin"], now=now)
        opened.append((runtime, client))
        return Hub(client, runtime, {"Authorization": f"Bearer {token}"}, clock)

    yield make
    for runtime, client in opened:
        await client.close()
        await runtime.close()
