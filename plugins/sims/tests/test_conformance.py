"""The hub.testing conformance suite, run against the SIMS adapter and its emulator."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence

from aiohttp import web

from hub.sdk import AdapterConfig, Capability, sign_hmac_sha256
from hub.testing import AdapterConformance
from hub_contracts import AttendanceMark, Session
from hub_sims import plugin
from hub_sims.adapter import SimsAdapter, SimsConfig
from hub_sims.emulator import STATE, EmulatorState, build_app, seed_synthetic_school

SCHOOL = "6799999"
DAYS = [dt.date(2026, 1, 5) + dt.timedelta(days=n) for n in range(3)]
PAGE_SIZE = 50


class TestSimsConformance(AdapterConformance):
    adapter_class = SimsAdapter
    sensitive_fields = tuple(plugin.hub_sensitive_fields())

    def emulator_app(self) -> web.Application:
        # Small pages keep the suite quick; the 1,000-record default is tested in test_sync.
        return build_app(EmulatorState(school_id=SCHOOL), page_size=PAGE_SIZE)

    def seed_emulator(self, app: web.Application) -> None:
        # 60 learners: two pages of learners and roll, eight of marks (3 days x 2 sessions).
        seed_synthetic_school(app[STATE], learners=60, days=DAYS)

    def connection_config(self, base_url: str) -> Mapping[str, object]:
        return {
            "base_url": f"{base_url}/ssli01",
            "token_url": f"{base_url}/connect/token",
            "client_id": "synthetic-client",
            "client_secret": "synthetic-client-secret",
            "subscription_key": "synthetic-subscription-key",
            "school_id": SCHOOL,
            "webhook_secret": "synthetic-webhook-secret",
            "attendance_from": "2025-09-01",
            "attendance_to": "2026-03-31",
        }

    def side_effect_count(self, app: web.Application, capability: Capability) -> int:
        return app[STATE].applied_writes

    def sample_write_batch(self) -> Sequence[AttendanceMark]:
        from hub_contracts import make_upn

        return [
            AttendanceMark(
                upn=make_upn(f"99999992{n:04d}"),
                setting_id=SCHOOL,
                date=dt.date(2026, 1, 12),
                session=Session.AM,
                code="D",
                source="hub",
                recorded_at=dt.datetime(2026, 1, 12, 9, tzinfo=dt.UTC),
            )
            for n in (1, 2, 3)
        ]

    def webhook_push(self, config: AdapterConfig) -> tuple[Mapping[str, str], bytes]:
        assert isinstance(config, SimsConfig) and config.webhook_secret is not None
        from hub_contracts import make_upn

        body = json.dumps(
            {
                "SchoolID": SCHOOL,
                "SessionAttendances": [
                    {
                        "AttendanceID": 900001,
                        "UPN": make_upn("999999920001"),
                        "AttendanceDate": "2026-01-13",
                        "SessionName": "PM",
                        "AttendanceMark": "7",
                        "LastUpdated": "2026-01-13T13:30:00Z",
                    }
                ],
            }
        ).encode()
        signature = sign_hmac_sha256(config.webhook_secret.get_secret_value().encode(), body)
        return {"X-Sims-Signature": f"sha256={signature}"}, body

    def sensitive_values(self, app: web.Application) -> Iterable[str]:
        state = app[STATE]
        for learner in state.learners.values():
            yield learner.forename
            yield learner.surname

    def secret_values(self, app: web.Application) -> Iterable[str]:
        return list(app[STATE].tokens)
