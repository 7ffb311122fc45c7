"""Engine test kit: a real webhook receiver on loopback, a settable clock, synthetic records.

Everything is synthetic (LA 999, "Test Learner" names). Tests reach the helpers through
fixtures (`kit`, `receiver`, `clock`) because conftest modules are not importable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import types
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.engine.destinations import Destinations
from hub.engine.dispatcher import Dispatcher
from hub.engine.sync import SyncEngine
from hub.plugins import PluginHost
from hub.sdk import ENTRY_POINT_GROUP, Adapter, hookimpl, verify_hmac_sha256
from hub.settings import HubSettings
from hub_contracts import (
    Jurisdiction,
    Learner,
    Notification,
    NotificationKind,
    Registration,
    Setting,
    SettingKind,
    make_upn,
)

T0 = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
SECRET = "synthetic-webhook-secret"
SECRET_ENV = "HUB_TEST_WEBHOOK_SECRET"
ENVIRON = {SECRET_ENV: SECRET}
SETTING_ID = "9990001"


# --- a webhook receiver that applies each idempotency key once -------------------------------


@dataclass
class Seen:
    key: str
    notification_id: str
    signature_ok: bool
    status: int


@dataclass
class Receiver:
    """A real HTTP receiver. Knobs: `fail_first` (503s), `status_for[key]` (+ `headers_for`),
    `hang_on_apply` (the n-th application hangs after applying, until `release` is set)."""

    secret: bytes = SECRET.encode()
    url: str = ""
    fail_first: int = 0
    status_for: dict[str, int] = field(default_factory=dict)
    headers_for: dict[str, dict[str, str]] = field(default_factory=dict)
    hang_on_apply: int | None = None
    hung: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    seen: list[Seen] = field(default_factory=list)
    applied: dict[str, str] = field(default_factory=dict)
    applied_per_notification: Counter[str] = field(default_factory=Counter)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def requests_for(self, key: str) -> int:
        return sum(1 for s in self.seen if s.key == key)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get("Idempotency-Key", "")
        ok = verify_hmac_sha256(self.secret, body, request.headers.get("X-Hub-Signature-256"))
        notification_id = json.loads(body).get("id", "") if body else ""
        status = self._status(key, ok)
        self.seen.append(Seen(key, notification_id, ok, status))
        self.arrived.set()
        if status != 201:
            return web.json_response(
                {"error": "synthetic"}, status=status, headers=self.headers_for.get(key, {})
            )
        if key in self.applied:  # a repeat: answer as before, apply nothing
            return web.json_response({"id": self.applied[key], "repeat": True})
        receiver_id = f"rcv-{len(self.applied) + 1}"
        self.applied[key] = receiver_id
        self.applied_per_notification[notification_id] += 1
        if self.hang_on_apply is not None and len(self.applied) == self.hang_on_apply:
            self.hung.set()
            await self.release.wait()
        return web.json_response({"id": receiver_id}, status=201)

    def _status(self, key: str, signature_ok: bool) -> int:
        if not signature_ok:
            return 401
        if self.fail_first > 0:
            self.fail_first -= 1
            return 503
        return self.status_for.get(key, 201)


async def serve_receiver(receiver: Receiver) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    return runner


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rcv = Receiver()
    runner = await serve_receiver(rcv)
    yield rcv
    rcv.release.set()
    await runner.cleanup()


# --- time ------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


# --- synthetic records, settings and engine objects ------------------------------------------


def upn(n: int) -> str:
    return make_upn(f"99900012{n % 10_000:04d}")


async def eventually(condition: Callable[[], Awaitable[bool]], what: str, *, within: float) -> None:
    """Poll `condition` (database state, say) until true; fail naming `what` after `within` s."""
    try:
        async with asyncio.timeout(within):
            while True:
                if await condition():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {within:g}s: {what}") from None


class Kit:
    T0 = T0
    eventually = staticmethod(eventually)
    SECRET = SECRET
    ENVIRON = ENVIRON
    SETTING_ID = SETTING_ID
    upn = staticmethod(upn)

    @staticmethod
    def notification(
        n: int = 1, kind: NotificationKind = NotificationKind.DELETION_RETURN, **extra: Any
    ) -> Notification:
        values: dict[str, Any] = {
            "id": f"synthetic-n-{n}",
            "kind": kind,
            "upn": upn(n),
            "recipient": "la",
            "due_by": T0 + dt.timedelta(days=14),
            "created_at": T0,
            "payload": {"ground": "wales-2010:8(1)(d)", "note": "synthetic"},
        }
        return Notification(**(values | extra))

    @staticmethod
    def settings(
        database_url: str,
        *,
        webhook_url: str | None = None,
        connections: Sequence[dict[str, Any]] = (),
        routes: Sequence[dict[str, Any]] | None = None,
        **overrides: Any,
    ) -> HubSettings:
        conns = list(connections)
        if webhook_url is not None:
            conns.insert(
                0,
                {
                    "name": "la-hook",
                    "plugin": "webhook",
                    "url": webhook_url,
                    "secret": f"env:{SECRET_ENV}",
                },
            )
        if routes is None:
            routes = [
                {"kind": kind.value, "connections": ["la-hook"]}
                for kind in NotificationKind
                if webhook_url is not None
            ]
        outbox = {
            "batch_size": 10,
            "lease_seconds": 30.0,
            "poll_interval_seconds": 0.05,
            "max_attempts": 5,
            "backoff_initial_seconds": 1.0,
            "backoff_max_seconds": 60.0,
        } | overrides.pop("outbox", {})
        return HubSettings(
            database_url=database_url,
            connections=conns,
            routes=list(routes),
            outbox=outbox,
            **overrides,
        )

    @staticmethod
    def setting(setting_id: str = SETTING_ID) -> Setting:
        return Setting(
            id=setting_id,
            name=f"Test School {setting_id}",
            kind=SettingKind.MAINSTREAM,
            jurisdiction=Jurisdiction.WALES,
            la_code="999",
            maintained=True,
        )

    @staticmethod
    def learner(n: int) -> Learner:
        return Learner(
            upn=upn(n),
            given_name="Test",
            family_name=f"Learner {n}",
            date_of_birth=dt.date(2014, 9, 1),
        )

    @staticmethod
    def registration(n: int, setting_id: str = SETTING_ID) -> Registration:
        return Registration.model_validate(
            {
                "upn": upn(n),
                "setting_id": setting_id,
                "status": "main",
                "start_date": "2024-09-02",
            }
        )

    @staticmethod
    def destinations(settings: HubSettings, plugins: PluginHost) -> Destinations:
        return Destinations(settings, plugins, environ=ENVIRON)

    @staticmethod
    def dispatcher(
        settings: HubSettings,
        sessions: async_sessionmaker[AsyncSession],
        destinations: Destinations,
        *,
        owner: str = "worker-a",
        clock: Callable[[], dt.datetime] | None = None,
        **kwargs: Any,
    ) -> Dispatcher:
        if clock is not None:
            kwargs["clock"] = clock
        return Dispatcher(
            settings=settings,
            sessions=sessions,
            destinations=destinations,
            owner=owner,
            **kwargs,
        )

    @staticmethod
    def sync_engine(
        settings: HubSettings,
        sessions: async_sessionmaker[AsyncSession],
        destinations: Destinations,
        *,
        owner: str = "worker-a",
        **kwargs: Any,
    ) -> SyncEngine:
        return SyncEngine(
            settings=settings, sessions=sessions, destinations=destinations, owner=owner, **kwargs
        )


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


# --- plugins: the installed core notifiers plus in-test adapters ------------------------------

PluginsWith = Callable[..., PluginHost]


@pytest.fixture
def plugins_with(monkeypatch: pytest.MonkeyPatch) -> PluginsWith:
    """`plugins_with(AdapterClass, ...)`: a loaded PluginHost with the hub's own `core` plugin
    (the webhook notifier) and the given adapter classes, registered through a real hook."""

    def build(*adapters: type[Adapter[Any]]) -> PluginHost:
        module_name = "fake_hub_plugin_engine_tests"
        module = types.ModuleType(module_name)

        @hookimpl
        def hub_register_adapters(registry: Any) -> None:
            for adapter_cls in adapters:
                registry.register(adapter_cls)

        module.hub_register_adapters = hub_register_adapters  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module_name, module)
        entry_points = [EntryPoint("core", "hub.notify.plugin", ENTRY_POINT_GROUP)]
        if adapters:
            entry_points.append(EntryPoint("engine-tests", module_name, ENTRY_POINT_GROUP))
        host = PluginHost(entry_points=entry_points)
        host.load()
        assert not host.refused, host.refused
        return host

    return build
