"""Fixtures for the SIMS plugin's tests: an emulator on loopback and adapters bound to it
through the core's real HTTP client (never a patched one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub.engine.http import ConnectionHttpClient
from hub.testing.emulator import serve_emulator
from hub.testing.faults import FaultPlan
from hub_sims.adapter import SimsAdapter, SimsConfig
from hub_sims.emulator import FAULTS, STATE, EmulatorState, build_app

SCHOOL = "6799999"


@dataclass
class SimsRig:
    app: web.Application
    base_url: str
    session: aiohttp.ClientSession

    @property
    def state(self) -> EmulatorState:
        return self.app[STATE]

    @property
    def faults(self) -> FaultPlan:
        return self.app[FAULTS]

    def options(self, **overrides: Any) -> dict[str, Any]:
        options: dict[str, Any] = {
            "base_url": f"{self.base_url}/ssli01",
            "token_url": f"{self.base_url}/connect/token",
            "client_id": self.state.client_id,
            "client_secret": self.state.client_secret,
            "subscription_key": self.state.subscription_key,
            "school_id": self.state.school_id,
            "webhook_secret": "synthetic-webhook-secret",
            "attendance_from": "2025-09-01",
            "attendance_to": "2026-07-31",
        }
        options.update(overrides)
        return options

    def adapter(self, *, timeout: float = 10.0, **overrides: Any) -> SimsAdapter:
        config = SimsConfig.model_validate(self.options(**overrides))
        http = ConnectionHttpClient(
            self.session,
            connection_name="test-sims",
            allowed_hosts=SimsAdapter.manifest.allowed_hosts,
            base_url=self.base_url,
            default_timeout=timeout,
        )
        return SimsAdapter(config, http, connection_name="test-sims")


@pytest.fixture
async def rig() -> AsyncIterator[SimsRig]:
    app = build_app(EmulatorState(school_id=SCHOOL))
    runner, base_url = await serve_emulator(app)
    try:
        async with aiohttp.ClientSession() as session:
            yield SimsRig(app, base_url, session)
    finally:
        await runner.cleanup()
