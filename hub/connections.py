"""Build adapters for the configured connections, and `hub check` them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import ValidationError

from hub.engine.http import ConnectionHttpClient
from hub.plugins import PluginHost
from hub.sdk import Adapter, AdapterError, resolve_secret_options
from hub.sdk import ConfigError as AdapterConfigError
from hub.settings import ConfigError, ConnectionSettings, HubSettings
from hub_contracts import describe_validation_error


@dataclass(frozen=True)
class ConnectionProblem:
    connection: str
    message: str


def adapter_config(
    host: PluginHost,
    conn: ConnectionSettings,
    *,
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Any:
    """Validate a connection's plugin options (resolving secret references); raise
    `ConfigError` naming `connections.<name>.<field>`."""
    key = f"connections.{conn.name}"
    adapter_cls = host.adapters.get(conn.plugin)
    if adapter_cls is None:
        known = ", ".join(sorted(host.adapters)) or "none installed"
        raise ConfigError(f"{key}.plugin", f"no adapter plugin named {conn.plugin!r} ({known})")
    model = adapter_cls.manifest.config_model
    try:
        options = resolve_secret_options(
            model,
            conn.plugin_options(),
            os.environ if environ is None else environ,
            base_dir=base_dir,
        )
        return model.model_validate(options)
    except AdapterConfigError as exc:
        raise ConfigError(key, str(exc)) from exc
    except ValidationError as exc:
        first = describe_validation_error(exc)[0]
        message = "unknown key" if first.message.startswith("Extra inputs") else first.message
        raise ConfigError(f"{key}.{first.field}", message) from exc


def build_adapter(
    host: PluginHost,
    conn: ConnectionSettings,
    session: aiohttp.ClientSession,
    *,
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Adapter[Any]:
    config = adapter_config(host, conn, environ=environ, base_dir=base_dir)
    adapter_cls = host.adapters[conn.plugin]
    base_url = getattr(config, "base_url", None)
    http = ConnectionHttpClient(
        session,
        connection_name=conn.name,
        allowed_hosts=adapter_cls.manifest.allowed_hosts,
        base_url=str(base_url) if base_url is not None else None,
    )
    return adapter_cls(config, http, connection_name=conn.name)


async def check_connections(
    settings: HubSettings,
    *,
    echo: Callable[[str], None],
    host: PluginHost | None = None,
    base_dir: Path | None = None,
) -> int:
    """Validate every connection's settings, then ask each adapter to reach its system.

    Notifier connections (e.g. `webhook`, `email`) are built — which validates their settings
    and secret references — and checked too when the notifier offers a `check()`.
    Returns the exit code: 0 all good, 2 a configuration problem, 1 a connection unreachable.
    """
    from hub.engine.destinations import Destinations

    if host is None:
        host = PluginHost()
        host.load(allow=settings.plugins.allow, block=settings.plugins.block)
    destinations = Destinations(settings, host, base_dir=base_dir)
    try:
        built = []
        for conn in settings.connections:
            if destinations.kind(conn.name) == "unknown":
                known = ", ".join(sorted({*host.adapters, *host.notifiers})) or "none installed"
                echo(
                    f"hub: config error: connections.{conn.name}.plugin: no adapter or notifier "
                    f"plugin named {conn.plugin!r} ({known})"
                )
                return 2
            try:
                built.append((conn, destinations.get(conn.name)))
            except AdapterConfigError as exc:
                message = str(exc).removeprefix(f"connection {conn.name!r}: ")
                if not message.startswith(f"connections.{conn.name}"):
                    message = f"connections.{conn.name}: {message}"
                echo(f"hub: config error: {message}")
                return 2
        echo(f"configuration ok: {len(built)} connection(s), database {_backend(settings)}")
        failures = 0
        for conn, destination in built:
            if not conn.enabled:
                echo(f"{conn.name}: disabled, not checked")
                continue
            check = getattr(destination, "check", None)
            if check is None:
                echo(f"{conn.name}: ok (notifier; configuration valid, nothing to reach yet)")
                continue
            try:
                await check()
            except AdapterError as exc:
                failures += 1
                echo(f"{conn.name}: FAILED ({type(exc).__name__}): {exc}")
            else:
                echo(f"{conn.name}: ok")
        return 1 if failures else 0
    finally:
        await destinations.close()


def _backend(settings: HubSettings) -> str:
    return "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
