"""The live objects behind configured connections: one adapter or notifier per connection.

A connection whose ``plugin`` names an adapter is an adapter connection (synced, and delivered
to through the adapter's capabilities); one whose ``plugin`` names a notifier (``"webhook"``)
is a notifier connection (delivered to with `Notifier.send`). Objects are built on first use
and kept for the life of the process; they share one aiohttp session, which the core owns.
A connection that cannot be built raises the SDK's `ConfigError` naming the connection.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import aiohttp
from pydantic import ValidationError

from hub.connections import build_adapter
from hub.engine.http import ConnectionHttpClient
from hub.plugins import PluginHost
from hub.sdk import Adapter, ConfigError, Notifier, resolve_secret_options
from hub.settings import ConfigError as SettingsError
from hub.settings import ConnectionSettings, HubSettings
from hub_contracts import describe_validation_error

__all__ = ["Destination", "Destinations", "connection_kind"]

Destination = Adapter[Any] | Notifier[Any]
ConnectionKind = Literal["adapter", "notifier", "unknown"]


def connection_kind(plugins: PluginHost, conn: ConnectionSettings) -> ConnectionKind:
    if conn.plugin in plugins.adapters:
        return "adapter"
    if conn.plugin in plugins.notifiers:
        return "notifier"
    return "unknown"


class Destinations:
    """Adapters and notifiers for `settings.connections`, built lazily; `close()` when done."""

    def __init__(
        self,
        settings: HubSettings,
        plugins: PluginHost,
        *,
        environ: Mapping[str, str] | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self._environ = environ
        self._base_dir = base_dir
        self._session: aiohttp.ClientSession | None = None
        self._built: dict[str, Destination] = {}

    def connection(self, name: str) -> ConnectionSettings:
        for conn in self.settings.connections:
            if conn.name == name:
                return conn
        raise ConfigError(f"no connection named {name!r} in the configuration")

    def kind(self, name: str) -> ConnectionKind:
        return connection_kind(self.plugins, self.connection(name))

    def get(self, name: str) -> Destination:
        """The adapter or notifier of connection `name` (built on first use)."""
        built = self._built.get(name)
        if built is not None:
            return built
        conn = self.connection(name)
        kind = connection_kind(self.plugins, conn)
        if kind == "unknown":
            known = sorted({*self.plugins.adapters, *self.plugins.notifiers}) or ["none"]
            raise ConfigError(
                f"connection {name!r}: no adapter or notifier plugin named {conn.plugin!r} "
                f"(installed: {', '.join(known)})"
            )
        built = self._build_adapter(conn) if kind == "adapter" else self._build_notifier(conn)
        self._built[name] = built
        return built

    def adapter(self, name: str) -> Adapter[Any]:
        built = self.get(name)
        if not isinstance(built, Adapter):
            raise ConfigError(f"connection {name!r} is a notifier, not an adapter connection")
        return built

    async def close(self) -> None:
        self._built.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- building -----------------------------------------------------------------------------

    def _http_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=50, limit_per_host=8)
            )
        return self._session

    def _build_adapter(self, conn: ConnectionSettings) -> Adapter[Any]:
        try:
            return build_adapter(
                self.plugins,
                conn,
                self._http_session(),
                environ=self._environ,
                base_dir=self._base_dir,
            )
        except SettingsError as exc:
            raise ConfigError(f"connection {conn.name!r}: {exc}") from exc

    def _build_notifier(self, conn: ConnectionSettings) -> Notifier[Any]:
        notifier_cls = self.plugins.notifiers[conn.plugin]
        model = notifier_cls.config_model
        try:
            options = resolve_secret_options(
                model,
                conn.plugin_options(),
                os.environ if self._environ is None else self._environ,
                base_dir=self._base_dir,
            )
            config = model.model_validate(options)
        except ConfigError as exc:
            raise ConfigError(f"connection {conn.name!r}: {exc}") from exc
        except ValidationError as exc:
            first = describe_validation_error(exc)[0]
            message = "unknown key" if first.message.startswith("Extra inputs") else first.message
            raise ConfigError(f"connections.{conn.name}.{first.field}: {message}") from exc
        # Host convention: a notifier that talks HTTP accepts the core's client as `http`,
        # bound to the host of its configured `url` (or `base_url`), like an adapter's.
        if "http" in inspect.signature(notifier_cls.__init__).parameters:
            target = getattr(config, "url", None) or getattr(config, "base_url", None)
            http = ConnectionHttpClient(
                self._http_session(),
                connection_name=conn.name,
                allowed_hosts=(),
                base_url=None if target is None else str(target),
            )
            factory: Any = notifier_cls  # the SDK's Notifier.__init__ takes config only
            notifier: Notifier[Any] = factory(config, http=http)
            return notifier
        return notifier_cls(config)
