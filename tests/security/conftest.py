"""Security test kit: the real API on a loopback test server, a real migrated database, tokens
of every scope, and the synthetic world of the API tests (LA 999 and LA 888, obviously fake).

On top of `tests/api` it adds: a recording notifier (`recorder`) so the outbox dispatcher can
deliver for real without a network; a choice of rules (the API tests' spy, or the hub's own
`HubRules` for flows that must raise real notifications); a settable clock; and
`fingerprint`, a digest of every table, to show that a refused request changed nothing.

Everything here runs on SQLite unless a test asks for PostgreSQL itself: access control and
input handling do not depend on the backend, and the database-fault test starts its own server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import types
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Any, ClassVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.api.app import create_app
from hub.api.metrics import HubMetrics
from hub.engine.destinations import Destinations
from hub.engine.dispatcher import Dispatcher
from hub.ingest import RulesRunner
from hub.notifications import OutboxSink
from hub.plugins import PluginHost
from hub.rules_runner import HubRules
from hub.runtime import HubRuntime
from hub.sdk import (
    ENTRY_POINT_GROUP,
    Adapter,
    AdapterConfig,
    AdapterManifest,
    AdapterRegistry,
    Capability,
    Notifier,
    NotifierRegistry,
    RecordOutcome,
    WriteResult,
    hookimpl,
)
from hub.settings import ApiSettings, ConnectionSettings, HubSettings, RouteSettings
from hub.store import (
    AuditLedger,
    CalendarRepository,
    LearnerRepository,
    NotificationRepository,
    RegistrationRepository,
    SettingRepository,
    create_engine,
    session_factory,
)
from hub.store.models import Base
from hub_contracts import (
    AttendanceMark,
    DeliveryReceipt,
    Notification,
    NotificationKind,
    Registration,
    SchoolCalendar,
    Setting,
    make_upn,
)
from tests.api.conftest import (
    MAX_BODY,
    MONDAY,
    NOW,
    SCHOOL_A,
    WEBHOOK_SECRET,
    Api,
    RecordingRules,
    learner,
)
from tests.api.conftest import hub_register_adapters as register_api_test_adapters

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PUSH_SECRET_ENV = "SECURITY_TEST_PUSH_SECRET"


# --- a notifier that records what it is given ----------------------------------------------


class RecorderConfig(AdapterConfig):
    pass


class RecordingNotifier(Notifier[RecorderConfig]):
    """Delivers by remembering: `sent` holds (connection-less) notifications and keys, in
    order; a key seen before is answered as before (an idempotent receiver)."""

    config_model = RecorderConfig
    sent: ClassVar[list[tuple[Notification, str]]] = []

    async def send(self, notification: Notification, idempotency_key: str) -> DeliveryReceipt:
        if all(key != idempotency_key for _, key in RecordingNotifier.sent):
            RecordingNotifier.sent.append((notification, idempotency_key))
        return DeliveryReceipt(
            notification_id=notification.id,
            recipient=notification.recipient,
            idempotency_key=idempotency_key,
            external_ref=f"rec-{len(RecordingNotifier.sent)}",
            delivered_at=dt.datetime.now(dt.UTC),
        )


class RegisterWriter(Adapter[RecorderConfig]):
    """An MIS that accepts register write-backs and remembers them (`written`)."""

    manifest = AdapterManifest(
        name="register-writer",
        display_name="Synthetic MIS taking write-backs",
        capabilities=frozenset({Capability.WRITE_MARKS}),
        config_model=RecorderConfig,
    )
    written: ClassVar[list[AttendanceMark]] = []

    async def check(self) -> None:
        return None

    async def write_marks(
        self, batch: Sequence[AttendanceMark], idempotency_key: str
    ) -> WriteResult:
        RegisterWriter.written.extend(batch)
        return WriteResult([RecordOutcome(index=i, ok=True) for i in range(len(batch))])


@hookimpl
def hub_register_notifiers(registry: NotifierRegistry) -> None:
    registry.register("recorder", RecordingNotifier)


@hookimpl
def hub_register_adapters(registry: AdapterRegistry) -> None:
    register_api_test_adapters(registry)
    registry.register(RegisterWriter)


@pytest.fixture
def plugin_host(monkeypatch: pytest.MonkeyPatch) -> PluginHost:
    module = types.ModuleType("fake_hub_plugin_security")
    module.hub_register_adapters = hub_register_adapters  # type: ignore[attr-defined]
    module.hub_register_notifiers = hub_register_notifiers  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(RecordingNotifier, "sent", [])
    monkeypatch.setattr(RegisterWriter, "written", [])
    host = PluginHost(entry_points=[EntryPoint("security", module.__name__, ENTRY_POINT_GROUP)])
    host.load()
    return host


# --- the app -------------------------------------------------------------------------------


class Clock:
    """A settable clock for the API (token expiry) and the engine."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def hub_settings(
    database_url: str,
    *,
    routes: Sequence[dict[str, Any]] = (),
    connections: Sequence[dict[str, Any]] = (),
) -> HubSettings:
    return HubSettings(
        database_url=database_url,
        api=ApiSettings(max_body_bytes=MAX_BODY),
        connections=[
            ConnectionSettings.model_validate(c)
            for c in (
                {
                    "name": "push-vendor",
                    "plugin": "push",
                    "webhook_secret": f"env:{PUSH_SECRET_ENV}",
                },
                {"name": "pull-vendor", "plugin": "pull"},
                {"name": "off-vendor", "plugin": "push", "enabled": False},
                *connections,
            )
        ],
        routes=[RouteSettings.model_validate(r) for r in routes],
    )


@asynccontextmanager
async def running_api(
    settings: HubSettings,
    plugins: PluginHost,
    *,
    real_rules: bool = False,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
) -> AsyncIterator[Api]:
    """The API app on a loopback test server. `real_rules`: the hub's own rules and outbox
    sink (notifications really raised and routed); otherwise the API tests' rules spy.
    `engine`: one the test configured itself (pragmas, timeouts); disposed here."""
    engine = engine or create_engine(settings.database_url)
    runtime = HubRuntime(
        settings=settings, engine=engine, sessions=session_factory(engine), plugins=plugins
    )
    rules: RulesRunner = (
        HubRules(settings, OutboxSink(settings, plugins)) if real_rules else RecordingRules()
    )
    metrics = HubMetrics(registry=runtime.metrics_registry)
    app = create_app(runtime, metrics, rules=rules, clock=clock)
    try:
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
        async with client:
            yield Api(client=client, runtime=runtime, rules=rules, metrics=metrics)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(
    database_url: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Api]:
    monkeypatch.setenv(PUSH_SECRET_ENV, WEBHOOK_SECRET)
    async with running_api(hub_settings(database_url), plugin_host) as running:
        yield running


@pytest.fixture
async def world(api: Api) -> Api:
    await api.seed()
    return api


# --- evidence --------------------------------------------------------------------------------


async def fingerprint(session: AsyncSession, *, skip: Iterable[str] = ()) -> dict[str, str]:
    """A digest of every table's rows (all columns, sorted), by table name."""
    skipped = set(skip)
    digests: dict[str, str] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in skipped:
            continue
        rows = (await session.execute(select(table))).all()
        text = json.dumps(sorted(repr(tuple(row)) for row in rows))
        digests[table.name] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return digests


@dataclass(frozen=True)
class Webhook:
    """A signed push to `push-vendor` (see `tests.api.conftest.PushAdapter`)."""

    body: bytes

    @classmethod
    def of(cls, **records: Any) -> Webhook:
        return cls(json.dumps(records, sort_keys=True).encode())

    def headers(self, *, secret: str = WEBHOOK_SECRET, delivery: str = "d-1") -> dict[str, str]:
        from hub.sdk import sign_hmac_sha256

        signature = sign_hmac_sha256(secret.encode(), self.body)
        return {
            "Content-Type": "application/json",
            "X-Push-Signature": f"sha256={signature}",
            "X-Hub-Delivery": delivery,
        }


# --- the data-protection world: a dual-registered learner, one setting barred ----------------

# A PRU of LA 999: the subsidiary registration of dual-registered learners.
PRU_A = Setting.model_validate(
    {
        "id": "9991101",
        "name": "Uned Cyfeirio Prawf (synthetic)",
        "kind": "pru",
        "jurisdiction": "wales",
        "la_code": "999",
        "maintained": True,
    }
)
UPN_BARRED = make_upn("999000120011")  # the PRU is barred from this learner's data
UPN_OPEN = make_upn("999000120012")  # no restriction
NAMES = {"given_name": "Eirlysanwen", "family_name": "Prydderchovska"}
ADDRESS = "17 Heol Cyfrinachol, Llanffug"
DATE_OF_BIRTH = dt.date(2014, 2, 3)


@dataclass
class Hub:
    api: Api
    settings: HubSettings
    plugins: PluginHost

    async def dispatch(self) -> None:
        """Deliver everything due, with the production dispatcher."""
        destinations = Destinations(self.settings, self.plugins)
        dispatcher = Dispatcher(
            settings=self.settings,
            sessions=self.api.runtime.sessions,
            destinations=destinations,
            owner="dp-test",
            clock=lambda: NOW + dt.timedelta(minutes=5),
        )
        try:
            while (await dispatcher.dispatch_once()).claimed:
                pass
        finally:
            await destinations.close()

    async def submit(self, notification: Notification) -> None:
        async with self.api.session() as session, session.begin():
            await OutboxSink(self.settings, self.plugins).submit(
                session, notification, la_code="999", now=NOW
            )

    async def ledger(self, action: str) -> list[dict[str, Any]]:
        async with self.api.session() as session:
            ledger = AuditLedger(session)
            assert (await ledger.verify()).ok
            return [e.detail for e in await ledger.entries(limit=1000) if e.action == action]

    async def notification(self, kind: NotificationKind, upn: str) -> Notification:
        async with self.api.session() as session:
            [found] = await NotificationRepository(session).find(upn=upn, kind=kind)
        return found


def dual_settings(database_url: str) -> HubSettings:
    """Recording destinations: `partner-feed` (notices to settings), `la-feed` (the LA's
    system, serving both settings), `pru-inbox` and `pru-mis` (serving only the PRU)."""
    both = [SCHOOL_A.id, PRU_A.id]
    return hub_settings(
        database_url,
        connections=[
            {"name": "partner-feed", "plugin": "recorder"},
            {"name": "la-feed", "plugin": "recorder", "setting_ids": both},
            {"name": "pru-inbox", "plugin": "recorder", "setting_ids": [PRU_A.id]},
            {"name": "pru-mis", "plugin": "register-writer", "setting_ids": [PRU_A.id]},
        ],
        routes=[
            {"kind": "dual_absence_notice", "connections": ["partner-feed"]},
            {"kind": "safeguarding_alert", "connections": ["partner-feed"]},
            {"kind": "consent_request", "connections": ["partner-feed"]},
            {"kind": "cme_referral", "connections": ["la-feed"]},
            {"kind": "deletion_notice", "connections": ["la-feed", "pru-inbox"]},
        ],
    )


@pytest.fixture
async def hub(
    database_url: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Hub]:
    monkeypatch.setenv(PUSH_SECRET_ENV, WEBHOOK_SECRET)
    settings = dual_settings(database_url)
    async with running_api(settings, plugin_host, real_rules=True, clock=Clock()) as api:
        await api.seed()
        async with api.session() as session, session.begin():
            await SettingRepository(session).upsert(PRU_A)
            for upn, barred in ((UPN_BARRED, [PRU_A.id]), (UPN_OPEN, [])):
                await LearnerRepository(session).upsert(
                    learner(
                        upn,
                        **NAMES,
                        address=ADDRESS,
                        date_of_birth=DATE_OF_BIRTH,
                        sharing_restrictions=barred,
                    )
                )
                for setting_id, status in ((SCHOOL_A.id, "main"), (PRU_A.id, "subsidiary")):
                    await RegistrationRepository(session).add(
                        Registration.model_validate(
                            {
                                "upn": upn,
                                "setting_id": setting_id,
                                "status": status,
                                "start_date": "2025-09-01",
                            }
                        )
                    )
            for setting_id in (SCHOOL_A.id, PRU_A.id):
                await CalendarRepository(session).replace(
                    SchoolCalendar(setting_id=setting_id, school_days=(MONDAY,))
                )
        yield Hub(api=api, settings=settings, plugins=plugin_host)
