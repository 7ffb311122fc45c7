"""Serve the hub until SIGTERM/SIGINT: shared by `hub run` and `hub demo`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from hub.api.app import create_app
from hub.api.metrics import HubMetrics
from hub.runtime import HubRuntime

log = structlog.get_logger(__name__)


class ListenError(OSError):
    """The API could not bind its address."""


async def serve(
    runtime: HubRuntime,
    *,
    on_started: Callable[[str], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the API until `stop` is set or the process gets SIGTERM/SIGINT.

    `on_started(url)` runs once the socket is listening. Shutdown stops accepting requests,
    lets in-flight ones finish, then closes the database engine.
    """
    api = runtime.settings.api
    # The API's metrics share the runtime's registry, where the engine's metrics live too.
    app = create_app(runtime, HubMetrics(registry=runtime.metrics_registry), rules=runtime.rules)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, api.host, api.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(
            exc.errno, f"cannot listen on {api.host}:{api.port}: {exc.strerror}"
        ) from exc
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    url = f"http://{api.host}:{_bound_port(runner, api.port)}"
    log.info("hub_started", url=url)
    try:
        if on_started is not None:
            await on_started(url)
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("hub_stopping")
        await runner.cleanup()
        log.info("hub_stopped")


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured
