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

    Returns the exit code: 0 all good, 2 a configuration problem, 1 a connection unreachable.
    """
    if host is None:
        host = PluginHost()
        host.load(allow=settings.plugins.allow, block=settings.plugins.block)
    configs: list[tuple[ConnectionSettings, Any]] = []
    for conn in settings.connections:
        try:
            configs.append((conn, adapter_config(host, conn, base_dir=base_dir)))
        except ConfigError as exc:
            echo(f"hub: config error: {exc}")
            return 2
    echo(f"configuration ok: {len(configs)} connection(s), database {_backend(settings)}")
    failures = 0
    async with aiohttp.ClientSession() as session:
        for conn, _config in configs:
            if not conn.enabled:
                echo(f"{conn.name}: disabled, not checked")
                continue
            adapter = build_adapter(host, conn, session, base_dir=base_dir)
            try:
                await adapter.check()
            except AdapterError as exc:
                failures += 1
                echo(f"{conn.name}: FAILED ({type(exc).__name__}): {exc}")
            else:
                echo(f"{conn.name}: ok")
    return 1 if failures else 0


def _backend(settings: HubSettings) -> str:
    return "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
