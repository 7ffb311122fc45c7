"""A One emulator on loopback and the real adapter over the core's HTTP client (never patched)."""

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
from hub_one.adapter import OneAdapter, OneConfig
from hub_one.emulator import ONE_FAULTS, ONE_STATE, OneLearner, OneSeed, OneState, create_app

API_KEY = "synthetic-test-key"
LA_CODE = "999"
#: Synthetic learners known to the emulator's index, and one it has never heard of.
KNOWN_UPN = make_upn("999000126001")
DUAL_UPN = make_upn("999000126002")
UNKNOWN_UPN = make_upn("999000126099")
KNOWN_NAME = "Ada Synthetic"
KNOWN_DOB = "2013-09-01"


def seed() -> OneSeed:
    def registration(rid: str, upn: str, base: str, status: str) -> dict[str, Any]:
        return {
            "registration_id": rid,
            "upn": upn,
            "base_id": base,
            "enrolment_status": status,
            "start_date": "2024-09-02",
            "end_date": None,
            "removal_ground": None,
        }

    return OneSeed(
        learners=[
            OneLearner(KNOWN_UPN, "Ada", "Synthetic", dt.date(2013, 9, 1)),
            OneLearner(DUAL_UPN, "Bryn", "Example", dt.date(2012, 1, 15)),
        ],
        registrations=[
            registration("R1", KNOWN_UPN, "9992001", "C"),
            registration("R2", DUAL_UPN, "9992001", "M"),
            registration("R3", DUAL_UPN, "9991100", "S"),
            registration("R4", KNOWN_UPN, "9993000", "G"),  # guest: not on a register
            registration("R5", UNKNOWN_UPN, "9992002", "C"),
        ],
        placements=[
            {
                "placement_id": "P1",
                "upn": KNOWN_UPN,
                "school_base_id": "9992001",
                "provider_base_id": "EOTAS-999-01",
                "sessions": ["WED-PM", "MON-AM", "wed-am"],
                "start_date": "2025-01-06",
                "end_date": None,
                "arranged_by": "la",
            }
        ],
    )


@dataclass
class OneRig:
    """The emulator, its base URL and an adapter configured for it (page size 2, 1 s timeout).

    Test modules cannot import this conftest (importlib import mode), so the synthetic
    constants and the notification builder are reached through the fixture."""

    app: web.Application
    base_url: str
    session: aiohttp.ClientSession
    adapter: OneAdapter = field(init=False)
    known_upn: str = KNOWN_UPN
    dual_upn: str = DUAL_UPN
    unknown_upn: str = UNKNOWN_UPN
    known_dob: str = KNOWN_DOB

    def __post_init__(self) -> None:
        self.adapter = self.adapter_with()

    @property
    def state(self) -> OneState:
        return self.app[ONE_STATE]

    @property
    def faults(self) -> FaultPlan:
        return self.app[ONE_FAULTS]

    @staticmethod
    def notification(
        kind: NotificationKind,
        upn: str | None = KNOWN_UPN,
        *,
        notification_id: str = "n-1",
        **payload: Any,
    ) -> Notification:
        """A synthetic notification; `full_name` defaults to the known learner's name."""
        if upn is not None:
            payload.setdefault("upn", upn)
            payload.setdefault("full_name", KNOWN_NAME)
        return Notification(
            id=notification_id,
            kind=kind,
            upn=upn,
            recipient=f"la:{LA_CODE}",
            created_at=dt.datetime(2025, 1, 20, 9, 0, tzinfo=dt.UTC),
            payload=payload,
        )

    def adapter_with(self, **overrides: Any) -> OneAdapter:
        options: dict[str, Any] = {
            "base_url": f"{self.base_url}/v1",
            "api_key": API_KEY,
            "la_code": LA_CODE,
            "page_size": 2,
            "http_timeout": 1.0,
            **overrides,
        }
        http = ConnectionHttpClient(
            self.session,
            connection_name="synthetic-one",
            allowed_hosts=OneAdapter.manifest.allowed_hosts,
            base_url=options["base_url"],
        )
        return OneAdapter(OneConfig.model_validate(options), http, connection_name="synthetic-one")


@pytest.fixture
async def rig() -> AsyncIterator[OneRig]:
    app = create_app(api_key=API_KEY, la_code=LA_CODE, max_page_size=50, seed=seed())
    runner, base_url = await serve_emulator(app)
    try:
        async with aiohttp.ClientSession() as session:
            yield OneRig(app, base_url, session)
    finally:
        await runner.cleanup()
