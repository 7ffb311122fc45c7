"""Adapter manifests, configuration models and secret references.

A manifest is the data a plugin declares about one adapter: its name, the plugin API version it
was written for, what it can do (capabilities), its configuration model and the hosts it may
reach. The host reads manifests without calling the adapter.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretBytes, SecretStr, field_validator

from .errors import ConfigError

__all__ = [
    "PLUGIN_API_VERSION",
    "AdapterConfig",
    "AdapterManifest",
    "Capability",
    "api_version_compatible",
    "config_json_schema",
    "host_allowed",
    "resolve_secret_options",
    "resolve_secret_reference",
    "secret_fields",
]

#: The plugin API this hub provides. A plugin written for another MAJOR version is refused;
#: minor versions only add (hooks gain optional arguments, adapters gain optional methods).
PLUGIN_API_VERSION = "1.0"

_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_SLUG = r"^[a-z][a-z0-9_-]{0,62}$"
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^(?:\*\.)?{_HOST_LABEL}(?:\.{_HOST_LABEL})*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _parse_version(version: str) -> tuple[int, int]:
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(f"plugin API version {version!r} is not MAJOR.MINOR, e.g. '1.0'")
    return int(match.group(1)), int(match.group(2))


def api_version_compatible(version: str, provided: str = PLUGIN_API_VERSION) -> bool:
    """True when a plugin written for `version` can run on a hub providing `provided`.

    Only the MAJOR numbers must match. A plugin declaring a newer MINOR than the hub provides
    still loads (the host logs it): it may use a feature this hub lacks and fail at import.
    """
    return _parse_version(version)[0] == _parse_version(provided)[0]


class Capability(StrEnum):
    """What an adapter can do. Each capability obliges the adapter to implement one method."""

    READ_LEARNERS = "read_learners"  # Adapter.read_learners
    READ_ROLL = "read_roll"  # Adapter.read_roll
    READ_MARKS = "read_marks"  # Adapter.read_marks
    READ_PLACEMENTS = "read_placements"  # Adapter.read_placements
    WRITE_MARKS = "write_marks"  # Adapter.write_marks
    SEND_RETURN = "send_return"  # Adapter.send_return: statutory returns to an LA
    SEND_NOTIFICATION = "send_notification"  # Adapter.send_notification: other notices
    RAISE_CONCERN = "raise_concern"  # Adapter.raise_concern: safeguarding systems
    READ_CONCERN_STATUS = "read_concern_status"  # Adapter.concern_status
    RECEIVE_WEBHOOK = "receive_webhook"  # Adapter.handle_webhook


class AdapterConfig(BaseModel):
    """Base of every adapter's (and notifier's) configuration model.

    Unknown keys are refused, so a typo in `hub.toml` is an error rather than a silent default.
    Declare every secret as `SecretStr`: it is then masked in reprs and logs, marked
    `writeOnly` in the JSON Schema, and in `hub.toml` must be written as an `env:VAR` or
    `file:PATH` reference (see `resolve_secret_reference`), never inline.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AdapterManifest(BaseModel):
    """What an adapter declares about itself; set as the `manifest` class attribute."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Unique adapter name; `[[connections]] plugin = "<name>"` in hub.toml selects it.
    name: Annotated[str, Field(pattern=_SLUG)]
    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    #: The plugin API version the adapter was written for, "MAJOR.MINOR".
    plugin_api_version: str = PLUGIN_API_VERSION
    capabilities: Annotated[frozenset[Capability], Field(min_length=1)]
    config_model: type[AdapterConfig]
    #: Hosts the adapter may call, exact ("sts.sims.co.uk") or one wildcard level
    #: ("*.example.net" matches subdomains, not the bare domain). The core's HttpClient refuses
    #: any other host, except the host of the connection's own configured `base_url`, which is
    #: the operator's choice (vendor systems hosted per school or per LA have no fixed host).
    allowed_hosts: tuple[str, ...] = ()
    #: Public vendor documentation the adapter is based on, if there is any.
    vendor_docs: HttpUrl | None = None

    @field_validator("plugin_api_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        _parse_version(value)
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        hosts = tuple(host.strip().lower().rstrip(".") for host in value)
        for host in hosts:
            if not _HOST.match(host):
                raise ValueError(
                    f"{host!r} is not a host name (write 'api.example.net' or '*.example.net', "
                    "no scheme, port or path)"
                )
        return hosts


def host_allowed(host: str, allowed_hosts: tuple[str, ...]) -> bool:
    """True when `host` matches an entry of a manifest's `allowed_hosts`."""
    host = host.strip().lower().rstrip(".")
    for pattern in allowed_hosts:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _is_secret(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_secret(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return any(_is_secret(arg) for arg in get_args(annotation))
    return False


def secret_fields(config_model: type[BaseModel]) -> tuple[str, ...]:
    """The names of the top-level fields of `config_model` declared as `SecretStr`/`SecretBytes`
    (optional ones included), in declaration order."""
    return tuple(
        name for name, field in config_model.model_fields.items() if _is_secret(field.annotation)
    )


def config_json_schema(config_model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a configuration model, with every secret field marked `writeOnly`
    (an API or UI may accept it but must never display it back)."""
    schema = config_model.model_json_schema()
    properties: dict[str, Any] = schema.get("properties", {})
    for name in secret_fields(config_model):
        key = config_model.model_fields[name].alias or name
        if key in properties:
            properties[key]["writeOnly"] = True
    return schema


def resolve_secret_reference(
    value: str, environ: Mapping[str, str], *, base_dir: Path | None = None
) -> str:
    """Resolve a secret reference from hub configuration to the secret itself.

    - `env:VAR` reads the environment variable VAR from `environ`;
    - `file:PATH` reads the file at PATH (relative paths are taken from `base_dir`, normally
      the directory of the config file), dropping trailing line breaks.

    Anything else raises `ConfigError`: inline secrets are refused so that a config file can be
    shared and versioned. Error messages name the variable or path, never a secret value.

    This reads a file synchronously. It is meant for config load time (`hub run` start-up,
    `hub check`), before the event loop serves work, never for the hot path.
    """
    scheme, sep, target = value.partition(":")
    if not sep or scheme not in ("env", "file"):
        raise ConfigError(
            "a secret must be a reference, written env:VARIABLE or file:/path/to/file "
            "(inline secret values are not accepted)"
        )
    if scheme == "env":
        if not _ENV_NAME.match(target):
            raise ConfigError(f"env:{target}: {target!r} is not an environment variable name")
        if target not in environ:
            raise ConfigError(f"env:{target}: environment variable {target} is not set")
        secret = environ[target]
        if not secret:
            raise ConfigError(f"env:{target}: environment variable {target} is empty")
        return secret
    if not target:
        raise ConfigError("file:: the secret file path is empty")
    path = Path(target).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        secret = path.read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError as exc:
        raise ConfigError(f"file:{target}: secret file {os.fspath(path)} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        # Not chained: a decode error's message quotes bytes of the secret.
        raise ConfigError(
            f"file:{target}: cannot read secret file {os.fspath(path)} ({type(exc).__name__})"
        ) from None
    if not secret:
        raise ConfigError(f"file:{target}: secret file {os.fspath(path)} is empty")
    return secret


def resolve_secret_options(
    config_model: type[BaseModel],
    options: Mapping[str, object],
    environ: Mapping[str, str],
    *,
    base_dir: Path | None = None,
) -> dict[str, object]:
    """Return a copy of raw connection options with every secret field's reference resolved,
    ready for `config_model.model_validate`. Errors name the field:
    `ConfigError("client_secret: env:SIMS_SECRET: environment variable SIMS_SECRET is not set")`.
    """
    resolved = dict(options)
    for name in secret_fields(config_model):
        key = config_model.model_fields[name].alias or name
        if key not in resolved or resolved[key] is None:
            continue
        raw = resolved[key]
        if not isinstance(raw, str):
            raise ConfigError(f"{key}: a secret must be written env:VARIABLE or file:/path")
        try:
            resolved[key] = resolve_secret_reference(raw, environ, base_dir=base_dir)
        except ConfigError as exc:
            raise ConfigError(f"{key}: {exc}") from exc
    return resolved
