"""`hub run`: the API, the outbox dispatcher and one sync loop per connection, in one task group.

SIGTERM or SIGINT sets one `stop` event that every part watches: the API stops accepting and
finishes its requests, the dispatcher stops claiming, lets in-flight deliveries finish (or
cancels them after a grace period) and gives back its leases, and each sync loop stops between
pages. Nothing is lost: a delivery cut short is retried under the same idempotency key and a
page cut short was never committed. `settings.sync.enabled` / `settings.outbox.enabled` turn
the sync loops / the dispatcher off (an API-only process, say).
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Awaitable, Callable

import structlog

from hub.engine import worker_id
from hub.engine.clock import pause, utcnow
from hub.engine.destinations import Destinations
from hub.engine.dispatcher import Dispatcher
from hub.engine.health import record_failure
from hub.engine.sync import SyncEngine
from hub.runtime import HubRuntime
from hub.sdk import ConfigError
from hub.service import ListenError, serve
from hub.store import NotificationRepository

__all__ = ["METRICS_REFRESH_SECONDS", "run_hub"]

log = structlog.get_logger(__name__)

#: How often the engine's database gauges (outbox depth and age, sync lag) are refreshed.
METRICS_REFRESH_SECONDS = 15.0
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_hub(
    runtime: HubRuntime,
    *,
    stop: asyncio.Event | None = None,
    on_started: Callable[[str], Awaitable[None]] | None = None,
) -> None:
    """Run the service until `stop` is set or the process gets SIGTERM/SIGINT.

    Raises `ListenError` when the API cannot bind its address (everything else is stopped).
    """
    settings = runtime.settings
    stop = stop or asyncio.Event()
    owner = worker_id(settings)
    destinations = Destinations(settings, runtime.plugins)
    loop = asyncio.get_running_loop()

    def install_signal_handlers() -> None:
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, stop.set)

    async def api() -> None:
        try:
            await serve(runtime, on_started=on_started, stop=stop)
        finally:
            stop.set()
            # serve() removed the handlers on its way out; a second SIGTERM while the engine
            # drains must not kill the process mid-commit.
            install_signal_handlers()

    install_signal_handlers()
    log.info(
        "engine_starting",
        worker=owner,
        sync=settings.sync.enabled,
        outbox=settings.outbox.enabled,
        connections=[c.name for c in settings.connections if c.enabled],
    )
    try:
        await _check_connections(runtime, destinations)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(api())
            if settings.outbox.enabled:
                dispatcher = Dispatcher(
                    settings=settings,
                    sessions=runtime.sessions,
                    destinations=destinations,
                    owner=owner,
                    metrics=runtime.engine_metrics,
                )
                tg.create_task(dispatcher.run(stop, wakeup=runtime.outbox_wakeup))
            if settings.sync.enabled:
                engine = SyncEngine(
                    settings=settings,
                    sessions=runtime.sessions,
                    destinations=destinations,
                    owner=owner,
                    rules=runtime.rules,
                    metrics=runtime.engine_metrics,
                )
                for conn in settings.connections:
                    if conn.enabled and destinations.kind(conn.name) != "notifier":
                        tg.create_task(engine.run_connection(conn.name, stop))
            tg.create_task(_refresh_metrics(runtime, stop))
    except BaseExceptionGroup as group:
        listen = [e for e in group.exceptions if isinstance(e, ListenError)]
        if listen:
            raise listen[0] from None
        raise
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
        await destinations.close()
        log.info("engine_stopped", worker=owner)


async def _check_connections(runtime: HubRuntime, destinations: Destinations) -> None:
    """Build every enabled connection now, so a configuration error (a missing secret, say)
    shows at start-up — in the log and as a failing connection — not at the first delivery.
    The hub still starts: the other connections work, and `hub check` names the problem."""
    for conn in runtime.settings.connections:
        if not conn.enabled:
            continue
        try:
            destinations.get(conn.name)
        except ConfigError as exc:
            log.error("connection_config_invalid", connection=conn.name, error=str(exc))
            async with runtime.sessions.begin() as session:
                await record_failure(session, conn.name, exc, now=utcnow())


async def _refresh_metrics(runtime: HubRuntime, stop: asyncio.Event) -> None:
    """Refresh the engine's gauges, and raise the alert for overdue statutory notifications
    (DESIGN §6) as a log line each time the overdue set changes."""
    overdue_before: dict[str, int] = {}
    while not stop.is_set():
        try:
            now = utcnow()
            async with runtime.sessions() as session:
                await runtime.engine_metrics.refresh(session, now=now)
                overdue = Counter(
                    n.kind.value for n in await NotificationRepository(session).overdue(now=now)
                )
            if overdue and dict(overdue) != overdue_before:
                log.warning("notifications_overdue", by_kind=dict(sorted(overdue.items())))
            overdue_before = dict(overdue)
        except Exception as exc:  # isolation boundary: metrics never stop the hub
            log.warning("metrics_refresh_failed", error_class=type(exc).__name__)
        await pause(stop, METRICS_REFRESH_SECONDS)
