"""Schemathesis against `/v1/openapi.json` (issue 10, item 3): every operation, positive and
negative cases, a bounded number of examples each, against the real app on a loopback server.

The app runs on a real TCP port in a thread with its own event loop (schemathesis sends its
requests synchronously with `requests`), over a migrated SQLite database holding the synthetic
world. Every response must not be a 5xx and must conform to the document: a documented status,
content type, headers and body schema.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.api.app import create_app
from hub.api.routes import ROUTES
from hub.plugins import PluginHost
from hub.runtime import HubRuntime
from hub.store import create_engine, session_factory
from tests.api.conftest import WEBHOOK_SECRET, Api, RecordingRules

from .conftest import PUSH_SECRET_ENV, SQLITE_ONLY, hub_settings

pytestmark = SQLITE_ONLY

#: Examples per operation and generation mode (fixed budget; derandomised).
EXAMPLES = int(os.environ.get("HUB_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass
class Loopback:
    base_url: str
    admin_token: str


@pytest.fixture
def loopback(
    database_url: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Loopback]:
    monkeypatch.setenv(PUSH_SECRET_ENV, WEBHOOK_SECRET)
    settings_ = hub_settings(database_url)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def serve() -> None:
        engine = create_engine(database_url)
        runtime = HubRuntime(
            settings=settings_, engine=engine, sessions=session_factory(engine), plugins=plugin_host
        )
        runner = web.AppRunner(create_app(runtime, rules=RecordingRules()))
        try:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            world = Api(client=None, runtime=runtime, rules=None, metrics=None)  # type: ignore[arg-type]
            await world.seed()
            started["loopback"] = Loopback(
                base_url=f"http://127.0.0.1:{runner.addresses[0][1]}",
                admin_token=await world.token("admin"),
            )
        except BaseException as exc:
            started["error"] = exc
            raise
        finally:
            ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await engine.dispose()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(timeout=30)
    try:
        if "error" in started:
            raise started["error"]
        yield started["loopback"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()


def test_every_operation_conforms_and_never_fails_with_a_5xx(loopback: Loopback) -> None:
    schema = schemathesis.openapi.from_url(f"{loopback.base_url}/v1/openapi.json")
    headers = {"Authorization": f"Bearer {loopback.admin_token}"}
    operations = [op.ok() for op in schema.get_all_operations()]  # type: ignore[union-attr]
    # Schemathesis leaves out the document's own URL; loading it above is its test.
    expected = {f"{r.method} {r.path}" for r in ROUTES} - {"GET /v1/openapi.json"}
    assert {op.label for op in operations} == expected

    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES * 2,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=loopback.base_url, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS, headers=headers)

        run()
