"""Registries handed to the `hub_register_*` hooks.

A plugin calls `registry.register(...)` from its hook; the registry validates what it is given
and refuses duplicates and invalid declarations with `RegistrationError`, whose message the
host shows when it refuses the plugin. Registries are read-only mappings for everyone else.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .adapter import CAPABILITY_METHODS, Adapter, Notifier, implemented_capabilities
from .manifest import PLUGIN_API_VERSION, AdapterConfig, AdapterManifest, api_version_compatible

__all__ = [
    "AdapterRegistry",
    "NotifierRegistry",
    "RegistrationError",
    "RulePack",
    "RulePackRegistry",
    "check_adapter_class",
]

_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LA_CODE = re.compile(r"^[0-9]{3}$")

V = TypeVar("V")


class RegistrationError(ValueError):
    """A plugin tried to register something invalid or already registered."""


@dataclass(frozen=True)
class RulePack:
    """An LA-specific set of rules on top of the statutory ones, e.g. "notify the CME team of
    every removal". This version carries the pack's identity only; its behaviour is added in a
    later minor version of the plugin API (new fields will have defaults).

    `la_codes` limits the pack to those local authorities (3-digit codes); None means every LA.
    """

    name: str
    description: str
    la_codes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not _SLUG.match(self.name):
            raise ValueError(f"rule pack name {self.name!r} must match {_SLUG.pattern}")
        if not self.description.strip():
            raise ValueError(f"rule pack {self.name!r} needs a description")
        if self.la_codes is not None:
            codes = frozenset(self.la_codes)
            if not codes:
                raise ValueError(f"rule pack {self.name!r}: la_codes is empty (None: every LA)")
            bad = sorted(code for code in codes if not _LA_CODE.match(code))
            if bad:
                raise ValueError(f"rule pack {self.name!r}: not 3-digit LA codes: {bad}")
            object.__setattr__(self, "la_codes", codes)

    def applies_to(self, la_code: str) -> bool:
        return self.la_codes is None or la_code in self.la_codes


class _Registry(Mapping[str, V]):
    _kind = "item"

    def __init__(self) -> None:
        self._items: dict[str, V] = {}

    def __getitem__(self, name: str) -> V:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def _add(self, name: str, item: V) -> None:
        if name in self._items:
            raise RegistrationError(f"{self._kind} {name!r} is already registered")
        self._items[name] = item


def check_adapter_class(adapter_cls: object) -> AdapterManifest:
    """Validate an adapter class as `AdapterRegistry.register` does; return its manifest.

    Checks: an `Adapter` subclass with nothing abstract left, a valid `AdapterManifest`, a plugin
    API version with this hub's MAJOR, and an `async def` override for every declared
    capability. Raises `RegistrationError` naming what is wrong.
    """
    if not (isinstance(adapter_cls, type) and issubclass(adapter_cls, Adapter)):
        raise RegistrationError(f"{adapter_cls!r} is not a subclass of hub.sdk.Adapter")
    label = adapter_cls.__qualname__
    manifest = getattr(adapter_cls, "manifest", None)
    if not isinstance(manifest, AdapterManifest):
        raise RegistrationError(f"adapter {label} has no `manifest: AdapterManifest` attribute")
    if inspect.isabstract(adapter_cls):
        missing = ", ".join(sorted(adapter_cls.__abstractmethods__))
        raise RegistrationError(f"adapter {manifest.name!r} does not implement: {missing}")
    if not api_version_compatible(manifest.plugin_api_version):
        raise RegistrationError(
            f"adapter {manifest.name!r} was written for plugin API "
            f"{manifest.plugin_api_version}; this hub provides {PLUGIN_API_VERSION} "
            "(the major versions differ)"
        )
    missing_caps = manifest.capabilities - implemented_capabilities(adapter_cls)
    if missing_caps:
        methods = ", ".join(sorted(f"{CAPABILITY_METHODS[c]}()" for c in missing_caps))
        raise RegistrationError(
            f"adapter {manifest.name!r} declares capabilities it does not implement: "
            f"override {methods} with async def"
        )
    return manifest


class AdapterRegistry(_Registry[type[Adapter[Any]]]):
    """Adapter classes by manifest name."""

    _kind = "adapter"

    def register(self, adapter_cls: type[Adapter[Any]]) -> None:
        """Register an adapter class (see `check_adapter_class` for what is checked)."""
        manifest = check_adapter_class(adapter_cls)
        self._add(manifest.name, adapter_cls)


class NotifierRegistry(_Registry[type[Notifier[Any]]]):
    """Notifier classes by channel name (e.g. "email")."""

    _kind = "notifier"

    def register(self, name: str, notifier_cls: type[Notifier[Any]]) -> None:
        if not _SLUG.match(name):
            raise RegistrationError(f"notifier name {name!r} must match {_SLUG.pattern}")
        if not (isinstance(notifier_cls, type) and issubclass(notifier_cls, Notifier)):
            raise RegistrationError(f"{notifier_cls!r} is not a subclass of hub.sdk.Notifier")
        if inspect.isabstract(notifier_cls):
            missing = ", ".join(sorted(notifier_cls.__abstractmethods__))
            raise RegistrationError(f"notifier {name!r} does not implement: {missing}")
        config_model = getattr(notifier_cls, "config_model", None)
        if not (isinstance(config_model, type) and issubclass(config_model, AdapterConfig)):
            raise RegistrationError(
                f"notifier {name!r} needs `config_model`, a subclass of hub.sdk.AdapterConfig"
            )
        self._add(name, notifier_cls)


class RulePackRegistry(_Registry[RulePack]):
    """LA-specific rule packs by name."""

    _kind = "rule pack"

    def register(self, rule_pack: RulePack) -> None:
        if not isinstance(rule_pack, RulePack):
            raise RegistrationError(f"{rule_pack!r} is not a hub.sdk.RulePack")
        self._add(rule_pack.name, rule_pack)
