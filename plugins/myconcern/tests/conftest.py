"""A MyConcern emulator on loopback and the real adapter over the core's HTTP client."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub.engine.http import ConnectionHttpClient
from hub.testing.emulator import serve_emulator
from hub.testing.faults import FaultPlan
from hub_contracts import Notification, NotificationKind, make_upn
from hub_myconcern.adapter import MyConcernAdapter, MyConcernConfig
from hub_myconcern.emulator import (
    MYCONCERN_FAULTS,
    MYCONCERN_STATE,
    MyConcernState,
    Pupil,
    create_app,
)

TOKEN = "synthetic-test-token"
KNOWN_UPN = make_upn("999000129001")
UNKNOWN_UPN = make_upn("999000129099")


@dataclass
class MyConcernRig:
    """The emulator, its base URL and an adapter for it. Test modules reach the synthetic
    constants through the fixture (importlib import mode: no importing conftest)."""

    app: web.Application
    base_url: str
    session: aiohttp.ClientSession
    adapter: MyConcernAdapter = field(init=False)
    known_upn: str = KNOWN_UPN
    unknown_upn: str = UNKNOWN_UPN

    def __post_init__(self) -> None:
        self.adapter = self.adapter_with()

    @property
    def state(self) -> MyConcernState:
        return self.app[MYCONCERN_STATE]

    @property
    def faults(self) -> FaultPlan:
        return self.app[MYCONCERN_FAULTS]

    def adapter_with(self, **overrides: Any) -> MyConcernAdapter:
        options: dict[str, Any] = {
            "base_url": f"{self.base_url}/api/v1",
            "api_token": TOKEN,
            "http_timeout": 1.0,
            **overrides,
        }
        http = ConnectionHttpClient(
            self.session,
            connection_name="synthetic-myconcern",
            allowed_hosts=MyConcernAdapter.manifest.allowed_hosts,
            base_url=options["base_url"],
        )
        config = MyConcernConfig.model_validate(options)
        return MyConcernAdapter(config, http, connection_name="synthetic-myconcern")

    async def control(self, path: str, body: object | None = None) -> Any:
        async with self.session.post(f"{self.base_url}/_emulator/{path}", json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    @staticmethod
    def alert(
        kind: NotificationKind = NotificationKind.SAFEGUARDING_ALERT,
        upn: str | None = KNOWN_UPN,
        *,
        notification_id: str = "n-1",
        **payload: Any,
    ) -> Notification:
        payload.setdefault("full_name", "Ada Synthetic")
        return Notification(
            id=notification_id,
            kind=kind,
            upn=upn,
            recipient="safeguarding",
            created_at=dt.datetime(2025, 1, 20, 9, 0, tzinfo=dt.UTC),
            payload=payload,
        )


@pytest.fixture
async def rig() -> AsyncIterator[MyConcernRig]:
    app = create_app(token=TOKEN, pupils=[Pupil(KNOWN_UPN, "Ada Synthetic", dt.date(2013, 9, 1))])
    runner, base_url = await serve_emulator(app)
    try:
        async with aiohttp.ClientSession() as session:
            yield MyConcernRig(app, base_url, session)
    finally:
        await runner.cleanup()
