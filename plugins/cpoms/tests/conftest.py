"""A CPOMS emulator on loopback and the real adapter over the core's HTTP client."""

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
from hub_cpoms.adapter import CpomsAdapter, CpomsConfig
from hub_cpoms.emulator import CPOMS_FAULTS, CPOMS_STATE, CpomsState, StudentRecord, create_app

TOKEN = "synthetic-test-token"
KNOWN_UPN = make_upn("999000131001")
UNKNOWN_UPN = make_upn("999000131099")


@dataclass
class CpomsRig:
    """The emulator, its base URL and an adapter for it. Test modules reach the synthetic
    constants through the fixture (importlib import mode: no importing conftest)."""

    app: web.Application
    base_url: str
    session: aiohttp.ClientSession
    adapter: CpomsAdapter = field(init=False)
    known_upn: str = KNOWN_UPN
    unknown_upn: str = UNKNOWN_UPN
    student_id: int = 701

    def __post_init__(self) -> None:
        self.adapter = self.adapter_with()

    @property
    def state(self) -> CpomsState:
        return self.app[CPOMS_STATE]

    @property
    def faults(self) -> FaultPlan:
        return self.app[CPOMS_FAULTS]

    def adapter_with(self, **overrides: Any) -> CpomsAdapter:
        options: dict[str, Any] = {
            "base_url": f"{self.base_url}/api",
            "api_token": TOKEN,
            "http_timeout": 1.0,
            **overrides,
        }
        http = ConnectionHttpClient(
            self.session,
            connection_name="synthetic-cpoms",
            allowed_hosts=CpomsAdapter.manifest.allowed_hosts,
            base_url=options["base_url"],
        )
        config = CpomsConfig.model_validate(options)
        return CpomsAdapter(config, http, connection_name="synthetic-cpoms")

    async def control(self, path: str, body: object | None = None) -> Any:
        async with self.session.post(f"{self.base_url}/_emulator/{path}", json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    def category_names(self, incident: dict[str, Any]) -> list[str]:
        by_id = {c["id"]: c["name"] for c in self.state.categories}
        return [by_id[i] for i in incident["category_ids"]]

    @staticmethod
    def alert(
        kind: NotificationKind = NotificationKind.SAFEGUARDING_ALERT,
        upn: str | None = KNOWN_UPN,
        *,
        notification_id: str = "n-1",
        **payload: Any,
    ) -> Notification:
        return Notification(
            id=notification_id,
            kind=kind,
            upn=upn,
            recipient="safeguarding",
            created_at=dt.datetime(2025, 1, 20, 9, 0, tzinfo=dt.UTC),
            payload=payload,
        )


@pytest.fixture
async def rig() -> AsyncIterator[CpomsRig]:
    student = StudentRecord(701, KNOWN_UPN, "Ada", "Synthetic", dt.date(2013, 9, 1))
    app = create_app(token=TOKEN, students=[student])
    runner, base_url = await serve_emulator(app)
    try:
        async with aiohttp.ClientSession() as session:
            yield CpomsRig(app, base_url, session)
    finally:
        await runner.cleanup()
