"""The API under test: the real aiohttp app on a loopback test server, a real migrated
database (`database_url`: SQLite and PostgreSQL), tokens minted with `TokenRepository`, and a
synthetic world (LA 999 and LA 888, obviously fake names).

Modules that test input handling rather than storage restrict themselves to SQLite with
`SQLITE_ONLY` to keep the PostgreSQL share of the run reasonable.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import types
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.app import create_app
from hub.api.metrics import HubMetrics
from hub.plugins import PluginHost
from hub.runtime import HubRuntime
from hub.sdk import (
    ENTRY_POINT_GROUP,
    Adapter,
    AdapterConfig,
    AdapterManifest,
    AdapterRegistry,
    AuthError,
    Capability,
    ContractViolation,
    Page,
    WebhookRecord,
    hookimpl,
    verify_hmac_sha256,
)
from hub.settings import ApiSettings, ConnectionSettings, HubSettings
from hub.store import (
    DiscrepancyRepository,
    LearnerRepository,
    MarkKey,
    MarkRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
    TokenRepository,
    create_engine,
    session_factory,
)
from hub_contracts import (
    AttendanceMark,
    Discrepancy,
    EotasPlacement,
    Learner,
    Registration,
    Setting,
    make_upn,
)

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

NOW = dt.datetime(2025, 11, 3, 12, 0, tzinfo=dt.UTC)
MONDAY = dt.date(2025, 11, 3)
TUESDAY = dt.date(2025, 11, 4)
MAX_BODY = 64 * 1024
WEBHOOK_SECRET = "synthetic-webhook-secret"

# LA 999 (Wales): a school and an EOTAS provider. LA 888 (England): another school.
SCHOOL_A = Setting.model_validate(
    {
        "id": "9990001",
        "name": "Ysgol Prawf A (synthetic)",
        "kind": "mainstream",
        "jurisdiction": "wales",
        "la_code": "999",
        "maintained": True,
    }
)
PROVIDER_A = Setting.model_validate(
    {
        "id": "9990002",
        "name": "Darparwr Prawf (synthetic)",
        "kind": "eotas_provider",
        "jurisdiction": "wales",
        "la_code": "999",
        "maintained": False,
    }
)
SCHOOL_B = Setting.model_validate(
    {
        "id": "8880001",
        "name": "Test School B (synthetic)",
        "kind": "mainstream",
        "jurisdiction": "england",
        "la_code": "888",
        "maintained": True,
    }
)
UPN_A = make_upn("999000120001")  # on SCHOOL_A's roll, placed with PROVIDER_A
UPN_B = make_upn("888000120002")  # on SCHOOL_B's roll only
UPN_NEW = make_upn("999000120003")  # not known to the hub


def learner(upn: str, **overrides: Any) -> Learner:
    values: dict[str, Any] = {
        "upn": upn,
        "given_name": "Synthetic",
        "family_name": "Learner",
        "date_of_birth": dt.date(2015, 1, 1),
    }
    return Learner.model_validate(values | overrides)


def mark_body(
    upn: str = UPN_A,
    setting_id: str = SCHOOL_A.id,
    *,
    day: dt.date = MONDAY,
    session: str = "AM",
    code: str = "/",
    recorded_at: dt.datetime = NOW,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "upn": upn,
        "setting_id": setting_id,
        "date": day.isoformat(),
        "session": session,
        "code": code,
        "source": "test-mis",
        "recorded_at": recorded_at.isoformat(),
        **extra,
    }


class RecordingRules:
    """A rules spy: records the changed cells and leaves a finding in the same transaction,
    so a test can see that the rules ran inside the request, before its reply."""

    def __init__(self) -> None:
        self.calls: list[tuple[MarkKey, ...]] = []
        self.saw_marks: list[bool] = []

    async def after_marks(
        self, session: AsyncSession, changed: Sequence[MarkKey], *, now: dt.datetime
    ) -> None:
        self.calls.append(tuple(changed))
        found = await MarkRepository(session).current_for_keys(changed)
        self.saw_marks.append(len(found) == len(set(changed)))
        for key in changed:
            await DiscrepancyRepository(session).record(
                Discrepancy.model_validate(
                    {
                        "id": f"spy:{key.upn}:{key.setting_id}:{key.date}:{key.session}",
                        "kind": "dual_missing_mark",
                        "severity": "info",
                        "upn": key.upn,
                        "date": key.date,
                        "session": key.session,
                        "setting_ids": [key.setting_id],
                        "detail": "recorded by the rules spy",
                    }
                ),
                now=now,
            )


# --- a fake vendor plugin with a webhook ---------------------------------------------------


class PushConfig(AdapterConfig):
    webhook_secret: SecretStr


class PushAdapter(Adapter[PushConfig]):
    """Verifies `X-Push-Signature` (HMAC-SHA256) and maps `{"learners", "registrations",
    "marks"}` onto contracts."""

    manifest = AdapterManifest(
        name="push",
        display_name="Synthetic push vendor",
        capabilities=frozenset({Capability.RECEIVE_WEBHOOK}),
        config_model=PushConfig,
    )

    async def check(self) -> None:
        return None

    async def handle_webhook(self, headers: Mapping[str, str], body: bytes) -> Page[WebhookRecord]:
        secret = self.config.webhook_secret.get_secret_value().encode()
        if not verify_hmac_sha256(secret, body, headers.get("x-push-signature")):
            raise AuthError("bad webhook signature")
        try:
            data = json.loads(body)
            records: list[WebhookRecord] = [
                *(Learner.model_validate(x) for x in data.get("learners", [])),
                *(Registration.model_validate(x) for x in data.get("registrations", [])),
                *(AttendanceMark.model_validate(x) for x in data.get("marks", [])),
            ]
        except ValueError as exc:
            raise ContractViolation("push body does not map onto contracts") from exc
        return Page(records)


class PullConfig(AdapterConfig):
    base_url: str = "http://127.0.0.1:9"


class PullAdapter(Adapter[PullConfig]):
    manifest = AdapterManifest(
        name="pull",
        display_name="Synthetic pull-only vendor",
        capabilities=frozenset({Capability.READ_MARKS}),
        config_model=PullConfig,
    )

    async def check(self) -> None:
        return None

    async def read_marks(self, cursor: str | None) -> Page[AttendanceMark]:
        return Page(())


@hookimpl
def hub_register_adapters(registry: AdapterRegistry) -> None:
    registry.register(PushAdapter)
    registry.register(PullAdapter)


@pytest.fixture
def plugin_host(monkeypatch: pytest.MonkeyPatch) -> PluginHost:
    module = types.ModuleType("fake_hub_plugin_api_vendors")
    module.hub_register_adapters = hub_register_adapters  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    host = PluginHost(
        entry_points=[EntryPoint("vendors", module.__name__, ENTRY_POINT_GROUP)],
    )
    host.load()
    return host


# --- the app -------------------------------------------------------------------------------


@dataclass
class Api:
    client: TestClient[web.Request, web.Application]
    runtime: HubRuntime
    rules: RecordingRules
    metrics: HubMetrics
    tokens: dict[str, str] = field(default_factory=dict)

    def session(self) -> AsyncSession:
        return self.runtime.sessions()

    async def token(
        self,
        *scopes: str,
        name: str = "test-token",
        expires_at: dt.datetime | None = None,
    ) -> str:
        async with self.session() as session, session.begin():
            plaintext, _info = await TokenRepository(session).create(
                name, scopes, now=dt.datetime.now(dt.UTC), expires_at=expires_at
            )
        return plaintext

    async def as_(self, scope: str) -> dict[str, str]:
        """Authorization headers for a (cached) token with one scope."""
        if scope not in self.tokens:
            self.tokens[scope] = await self.token(scope, name=f"token-{scope}")
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    async def seed(self) -> None:
        """The synthetic world: three settings, two learners on different LAs' rolls."""
        async with self.session() as session, session.begin():
            for setting in (SCHOOL_A, PROVIDER_A, SCHOOL_B):
                await SettingRepository(session).upsert(setting)
            for upn in (UPN_A, UPN_B):
                await LearnerRepository(session).upsert(learner(upn))
            regs = RegistrationRepository(session)
            await regs.add(
                Registration.model_validate(
                    {
                        "upn": UPN_A,
                        "setting_id": SCHOOL_A.id,
                        "status": "single",
                        "start_date": "2025-09-01",
                    }
                )
            )
            await regs.add(
                Registration.model_validate(
                    {
                        "upn": UPN_B,
                        "setting_id": SCHOOL_B.id,
                        "status": "single",
                        "start_date": "2025-09-01",
                    }
                )
            )
            await PlacementRepository(session).add(
                EotasPlacement.model_validate(
                    {
                        "upn": UPN_A,
                        "school_id": SCHOOL_A.id,
                        "provider_id": PROVIDER_A.id,
                        "sessions": [{"weekday": 0, "session": "PM"}],
                        "start_date": "2025-09-01",
                    }
                )
            )


@pytest.fixture
async def api(
    database_url: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Api]:
    monkeypatch.setenv("API_TEST_PUSH_SECRET", WEBHOOK_SECRET)
    settings = HubSettings(
        database_url=database_url,
        api=ApiSettings(max_body_bytes=MAX_BODY),
        connections=[
            ConnectionSettings.model_validate(c)
            for c in (
                {
                    "name": "push-vendor",
                    "plugin": "push",
                    "webhook_secret": "env:API_TEST_PUSH_SECRET",
                },
                {"name": "pull-vendor", "plugin": "pull"},
                {"name": "off-vendor", "plugin": "push", "enabled": False},
            )
        ],
    )
    engine = create_engine(database_url)
    runtime = HubRuntime(
        settings=settings, engine=engine, sessions=session_factory(engine), plugins=plugin_host
    )
    rules = RecordingRules()
    metrics = HubMetrics(registry=runtime.metrics_registry)
    app = create_app(runtime, metrics, rules=rules)
    try:
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
        async with client:
            yield Api(client=client, runtime=runtime, rules=rules, metrics=metrics)
    finally:
        await engine.dispose()


@pytest.fixture
async def world(api: Api) -> Api:
    await api.seed()
    return api
