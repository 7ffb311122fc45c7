"""Hub configuration: a TOML file plus `HUB_*` environment overrides (pydantic-settings).

Precedence, highest first: explicit keyword arguments, environment (`HUB_DATABASE_URL`,
`HUB_API__PORT`, ...), the TOML file, defaults. With no file the hub uses a SQLite file in
the working directory and listens on 127.0.0.1:8080 (DESIGN §5).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = "hub.toml"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hub.db"

_config_file: ContextVar[Path | None] = ContextVar("hub_config_file", default=None)


class ConfigError(Exception):
    """The configuration is invalid; `str()` is one line naming the key and the reason."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}" if key else message)


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8080, ge=0, le=65535, description="API port.")
    # Bodies above this are refused with 413 before they are parsed.
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="Larger request bodies get 413."
    )


class PluginSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None loads every installed plugin; a list loads only those entry-point names.
    allow: list[str] | None = Field(
        default=None, description="Entry-point names to load; unset loads every installed plugin."
    )
    block: list[str] = Field(default_factory=list, description="Entry-point names never loaded.")


class LoggingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Minimum level written."
    )
    format: Literal["json", "console"] = Field(
        default="json", description="One JSON object per line, or human-readable."
    )


class SyncSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Run the sync scheduler in `hub run`.")
    lease_seconds: float = Field(
        default=60.0, gt=0, description="A worker's claim on a connection's sync, renewed per page."
    )
    max_pages_per_pass: int = Field(
        default=1000, ge=1, description="Pages read from one stream in one pass before yielding."
    )


class OutboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Run the outbox dispatcher in `hub run`.")
    batch_size: int = Field(default=50, ge=1, le=1000, description="Rows claimed per poll.")
    lease_seconds: float = Field(
        default=120.0, gt=0, description="How long a claimed delivery is reserved for its worker."
    )
    poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="Seconds between polls when the outbox is empty."
    )
    max_attempts: int = Field(
        default=12, ge=1, description="Failed attempts before a delivery becomes a dead letter."
    )
    backoff_initial_seconds: float = Field(
        default=2.0, gt=0, description="First retry delay; doubles per attempt, with jitter."
    )
    backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest delay between two attempts."
    )


class RouteSettings(BaseModel):
    """Where notifications of one kind go (connection names, in order)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="A notification kind, e.g. cme_referral.")
    la_code: str | None = Field(
        default=None, pattern=r"^[0-9]{3}$", description="Only for this LA (default: every LA)."
    )
    connections: list[str] = Field(min_length=1, description="Connection names to deliver to.")


class RegistrationDeadline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    am: dt.time = Field(default=dt.time(10, 0), description="Morning register deadline.")
    pm: dt.time = Field(default=dt.time(14, 30), description="Afternoon register deadline.")


class ReconcileSettings(BaseModel):
    """Dual registration and EOTAS reconciliation (issue 5)."""

    model_config = ConfigDict(extra="forbid")

    auto_write_kinds: list[str] = Field(
        default_factory=list,
        description="Discrepancy kinds whose proposed marks are written back automatically "
        "through the setting's MIS connection (when it can write); others stay proposals.",
    )
    default_deadline: RegistrationDeadline = Field(
        default_factory=RegistrationDeadline,
        description="Local times after which today's missing marks are raised.",
    )
    deadlines: dict[str, RegistrationDeadline] = Field(
        default_factory=dict, description="Per-setting register deadlines, by setting id."
    )
    provider_report_deadline_school_days: int = Field(
        default=1, ge=0, description="School days an EOTAS provider has to report a B session."
    )
    sweep_school_days: int = Field(
        default=10, ge=1, description="How far back the periodic sweep re-judges sessions."
    )
    first_day_caller: dict[str, str] = Field(
        default_factory=dict,
        description="Per learner UPN, the setting that owns first-day calling (default: main).",
    )

    @field_validator("auto_write_kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        from hub_contracts import DiscrepancyKind

        known = {k.value for k in DiscrepancyKind}
        for kind in value:
            if kind not in known:
                raise ValueError(f"unknown discrepancy kind {kind!r}")
        return value


class DeletionSettings(BaseModel):
    """Roll deletions (issue 8): LA policies on top of the statutory grounds."""

    model_config = ConfigDict(extra="forbid")

    la_policies: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per LA code, the LA deletion policies applied on top of the law "
        "(barking-and-dagenham-notify-cme-team, wrexham-admitted-or-cme-recorded, "
        "vale-of-glamorgan-cme-checklist-first).",
    )

    @field_validator("la_policies")
    @classmethod
    def _known_policies(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from hub.rules.returns import EXAMPLE_DELETION_POLICIES

        known = {p.name for p in EXAMPLE_DELETION_POLICIES}
        for la_code, names in value.items():
            if len(la_code) != 3 or not la_code.isdigit():
                raise ValueError(f"{la_code!r} is not a 3-digit LA code")
            for name in names:
                if name not in known:
                    raise ValueError(
                        f"unknown LA policy {name!r} (known: {', '.join(sorted(known))})"
                    )
        return value


class AbsenceReturnSettings(BaseModel):
    """The periodic return of irregular attendance (Wales reg 12(1)) at the LA's interval."""

    model_config = ConfigDict(extra="forbid")

    period_days: int = Field(
        default=28, ge=1, description="Calendar days each return covers, ending on its as-of date."
    )
    irregular_attendance_below_pct: float = Field(
        default=90.0,
        gt=0,
        le=100,
        description="Listed when attendance in the period is below this percentage.",
    )
    schedule_every_days: int | None = Field(
        default=None, ge=1, description="`hub run` builds the return every N days (off if unset)."
    )


class ConnectionSettings(BaseModel):
    """One connected system. Keys other than these belong to the plugin's own config model
    and are validated against it when the connection is built (`hub check`)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="Unique connection name, e.g. ysgol-a-sims.",
    )
    plugin: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="Adapter plugin name (`hub plugins list`).",
    )
    enabled: bool = Field(
        default=True, description="Disabled connections are neither synced nor sent to."
    )
    setting_ids: list[str] = Field(
        default_factory=list,
        description="Settings this connection's system holds (an MIS: its school); write-backs "
        "for a setting go through the connection that lists it.",
    )
    poll_interval_seconds: float = Field(
        default=300.0, gt=0, description="Seconds between sync passes of this connection."
    )

    def plugin_options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLite (embedded default, WAL) or postgresql+asyncpg:// at LA scale.",
    )
    auto_migrate: bool = Field(
        default=True, description="`hub run` applies pending migrations at start."
    )
    sqlite_cache_mb: int = Field(
        default=64,
        ge=2,
        le=65_536,
        description="SQLite only: page cache per connection, in MB (SQLite's own default is "
        "about 2 MB; a year of an LA's marks needs more to stay fast, docs/performance.md).",
    )
    api: ApiSettings = Field(default_factory=ApiSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    worker_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="This process's name in leases (default: host name and process id).",
    )
    sync: SyncSettings = Field(default_factory=SyncSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    deletions: DeletionSettings = Field(default_factory=DeletionSettings)
    absence_returns: AbsenceReturnSettings = Field(default_factory=AbsenceReturnSettings)
    connections: list[ConnectionSettings] = Field(
        default_factory=list, description="One `[[connections]]` table per connected system."
    )
    routes: list[RouteSettings] = Field(
        default_factory=list, description="`[[routes]]`: which connections get which notifications."
    )

    @field_validator("database_url")
    @classmethod
    def _supported_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value

    @field_validator("connections")
    @classmethod
    def _unique_names(cls, value: list[ConnectionSettings]) -> list[ConnectionSettings]:
        seen: set[str] = set()
        for conn in value:
            if conn.name in seen:
                raise ValueError(f"connection name {conn.name!r} is used twice")
            seen.add(conn.name)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @model_validator(mode="after")
    def _routes_name_connections(self) -> HubSettings:
        names = {c.name for c in self.connections}
        for i, route in enumerate(self.routes):
            for name in route.connections:
                if name not in names:
                    raise ValueError(f"routes.{i}.connections: no connection named {name!r}")
        return self

    def connection(self, name: str) -> ConnectionSettings:
        for conn in self.connections:
            if conn.name == name:
                return conn
        raise ConfigError("connections", f"no connection named {name!r}")


@contextmanager
def _reading(path: Path | None) -> Iterator[None]:
    token = _config_file.set(path)
    try:
        yield
    finally:
        _config_file.reset(token)


def _describe(exc: ValidationError) -> ConfigError:
    err = exc.errors(include_url=False)[0]
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return ConfigError(key, "unknown key")
    message = err["msg"].removeprefix("Value error, ")
    if "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], dict):
        message = f"{message} (got {err['input']!r})"
    return ConfigError(key, message)


def resolve_config_path(path: str | Path | None, cwd: Path | None = None) -> Path | None:
    """The explicit --config file, else `hub.toml` in the working directory if present."""
    if path is not None:
        return Path(path)
    default = (cwd or Path.cwd()) / DEFAULT_CONFIG_FILE
    return default if default.is_file() else None


def load_settings(
    path: str | Path | None = None,
    **overrides: Any,
) -> HubSettings:
    """Load settings; raise `ConfigError` (one line, naming the key) on any problem."""
    config_path = resolve_config_path(path)
    if config_path is not None:
        if not config_path.is_file():
            raise ConfigError("--config", f"file not found: {config_path}")
        try:
            tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(config_path), f"not valid TOML: {exc}") from exc
    with _reading(config_path):
        try:
            return HubSettings(**overrides)
        except ValidationError as exc:
            raise _describe(exc) from exc
