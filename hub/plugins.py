"""The plugin host: a typed facade over pluggy (private; plugins use `hub.sdk`).

Plugins are found only through the entry-point group `attendance_hub.plugins`, the in-repo ones
exactly like a vendor's. Loading never crashes the hub because of a plugin: a plugin that fails
to import, implements an unknown or `async def` hook, registers an adapter for another major
plugin API version, or whose hook raises is *refused* with a reason (`refused`, `inventory()`)
and the hub runs without it. A refused plugin contributes nothing, not even what it registered
before failing.

    host = PluginHost()                       # or PluginHost(entry_points=[...]) in tests
    host.load(allow=None, block=["cpoms"])    # entry-point names, from hub.toml [plugins]
    host.adapters["sims"]                     # -> type[Adapter]
    [info.as_dict() for info in host.inventory()]   # `hub plugins list --json`, GET /v1/plugins
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import Any, Literal

import pluggy
import structlog

from hub.sdk import ENTRY_POINT_GROUP, PLUGIN_API_VERSION, hookspecs
from hub.sdk.adapter import Adapter, Notifier
from hub.sdk.manifest import secret_fields
from hub.sdk.registry import AdapterRegistry, NotifierRegistry, RulePack, RulePackRegistry

__all__ = ["PluginHost", "PluginInfo", "PluginStatus", "RefusedPlugin"]

log = structlog.get_logger(__name__)

PluginStatus = Literal["loaded", "refused", "blocked"]


@dataclass(frozen=True)
class RefusedPlugin:
    name: str
    reason: str


@dataclass(frozen=True)
class PluginInfo:
    """One entry point of the plugin group and what became of it."""

    name: str
    distribution: str | None
    version: str | None
    #: The entry point's target, "module" or "module:attribute".
    module: str
    status: PluginStatus
    reason: str | None = None
    adapters: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    notifiers: tuple[str, ...] = ()
    rule_packs: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "reason": self.reason,
            "adapters": list(self.adapters),
            "capabilities": list(self.capabilities),
            "notifiers": list(self.notifiers),
            "rule_packs": list(self.rule_packs),
            "hooks": list(self.hooks),
        }


class _Refusal(Exception):
    """A plugin cannot be used; the message is the reason shown to operators."""


@dataclass
class _Entry:
    entry_point: EntryPoint
    status: PluginStatus = "loaded"
    reason: str | None = None
    plugin: object = None
    hooks: tuple[str, ...] = ()
    adapters: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    notifiers: tuple[str, ...] = ()
    rule_packs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.entry_point.name

    def info(self) -> PluginInfo:
        dist = self.entry_point.dist
        return PluginInfo(
            name=self.name,
            distribution=None if dist is None else dist.name,
            version=None if dist is None else dist.version,
            module=self.entry_point.value,
            status=self.status,
            reason=self.reason,
            adapters=self.adapters,
            capabilities=self.capabilities,
            notifiers=self.notifiers,
            rule_packs=self.rule_packs,
            hooks=self.hooks,
        )


@dataclass
class _Staged:
    """What one plugin registered, kept apart until the whole plugin is accepted."""

    adapters: AdapterRegistry = field(default_factory=AdapterRegistry)
    notifiers: NotifierRegistry = field(default_factory=NotifierRegistry)
    rule_packs: RulePackRegistry = field(default_factory=RulePackRegistry)
    sensitive_fields: set[str] = field(default_factory=set)


class PluginHost:
    """Discovers, vets and registers plugins once, then exposes what they registered.

    `entry_points` replaces discovery from installed distributions (tests simulate plugins with
    it); by default the host reads `importlib.metadata` group `attendance_hub.plugins`.
    """

    def __init__(self, *, entry_points: Iterable[EntryPoint] | None = None) -> None:
        self._injected = None if entry_points is None else tuple(entry_points)
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._loaded = False
        self._entries: list[_Entry] = []
        self._adapters: dict[str, type[Adapter[Any]]] = {}
        self._notifiers: dict[str, type[Notifier[Any]]] = {}
        self._rule_packs: dict[str, RulePack] = {}
        self._sensitive: set[str] = set()

    # -- loading ------------------------------------------------------------------------------

    def load(self, *, allow: Collection[str] | None = None, block: Collection[str] = ()) -> None:
        """Load, vet and register plugins. Call once.

        `allow`: if given, only these entry-point names load (the others are "blocked").
        `block`: these entry-point names never load, even when allowed.
        """
        if self._loaded:
            raise RuntimeError("PluginHost.load() was already called; build a new PluginHost")
        self._loaded = True
        allowed = None if allow is None else frozenset(allow)
        blocked = frozenset(block)
        discovered = self._discover()
        names = {entry.name for entry in discovered}
        for name in sorted(((allowed or frozenset()) | blocked) - names):
            log.warning("plugin_not_installed", plugin=name, group=ENTRY_POINT_GROUP)

        seen: dict[str, _Entry] = {}
        for entry in discovered:
            first = seen.setdefault(entry.name, entry)
            if first is not entry:
                self._refuse(
                    entry,
                    f"entry point name {entry.name!r} is already used by "
                    f"{first.entry_point.value!r} ({_dist_label(first.entry_point)})",
                )
            elif entry.name in blocked:
                self._block(entry, "blocked by configuration (plugins.block)")
            elif allowed is not None and entry.name not in allowed:
                self._block(entry, "not in the allow list (plugins.allow)")
            else:
                self._import_and_vet(entry)
            self._entries.append(entry)

        # Every remaining hookimpl has a spec: unknown hooks were refused per plugin above.
        self._pm.check_pending()
        staged: dict[str, _Staged] = {}
        for entry in self._entries:
            if entry.status == "loaded":
                try:
                    staged[entry.name] = self._stage(entry)
                except _Refusal as refusal:
                    self._refuse(entry, str(refusal))
        conflicts = _conflicts(staged)
        for entry in self._entries:
            if entry.status != "loaded":
                continue
            if entry.name in conflicts:
                self._refuse(entry, conflicts[entry.name])
            else:
                self._commit(entry, staged[entry.name])

    def _discover(self) -> list[_Entry]:
        found = (
            self._injected
            if self._injected is not None
            else tuple(entry_points(group=ENTRY_POINT_GROUP))
        )
        unique: dict[tuple[str, str, str | None], EntryPoint] = {}
        for ep in found:
            dist = ep.dist
            unique.setdefault((ep.name, ep.value, None if dist is None else dist.name), ep)
        return [_Entry(ep) for ep in sorted(unique.values(), key=lambda ep: (ep.name, ep.value))]

    def _block(self, entry: _Entry, reason: str) -> None:
        self._pm.set_blocked(entry.name)
        entry.status = "blocked"
        entry.reason = reason

    def _refuse(self, entry: _Entry, reason: str) -> None:
        if entry.plugin is not None and self._pm.is_registered(entry.plugin):
            self._pm.unregister(entry.plugin)
        entry.status = "refused"
        entry.reason = reason
        entry.adapters = entry.capabilities = entry.notifiers = entry.rule_packs = ()

    def _import_and_vet(self, entry: _Entry) -> None:
        try:
            plugin = entry.entry_point.load()
        except Exception as exc:  # isolation boundary: a broken plugin must not stop the hub
            self._refuse(entry, f"import failed: {type(exc).__name__}: {exc}")
            return
        try:
            self._pm.register(plugin, name=entry.name)
        except pluggy.PluginValidationError as exc:
            self._refuse(entry, "invalid hook implementation: " + "; ".join(str(exc).splitlines()))
            return
        except ValueError:
            self._refuse(entry, "the same plugin object is loaded by another entry point name")
            return
        entry.plugin = plugin
        problems: list[str] = []
        hooks: list[str] = []
        for caller in self._pm.get_hookcallers(plugin) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                if not caller.has_spec():
                    if not impl.optionalhook:
                        problems.append(
                            f"implements unknown hook {caller.name!r} "
                            f"(not in plugin API {PLUGIN_API_VERSION})"
                        )
                elif inspect.iscoroutinefunction(impl.function) or inspect.isasyncgenfunction(
                    impl.function
                ):
                    problems.append(
                        f"hook {caller.name} is `async def`; attendance_hub hooks must be "
                        "synchronous and do no I/O (put I/O in the adapter's async methods)"
                    )
                elif impl.wrapper or impl.hookwrapper:
                    problems.append(f"hook {caller.name} is a wrapper; wrappers are not supported")
                else:
                    hooks.append(caller.name)
        if not problems and not hooks:
            problems.append(
                f"{entry.entry_point.value!r} has no @hookimpl functions of project "
                f"{hookspecs.PROJECT_NAME!r}"
            )
        if problems:
            self._refuse(entry, "; ".join(problems))
            return
        entry.hooks = tuple(sorted(hooks))

    # -- registration -------------------------------------------------------------------------

    def _stage(self, entry: _Entry) -> _Staged:
        """Run one plugin's hooks against registries of its own."""
        staged = _Staged()
        self._call(entry, "hub_register_adapters", registry=staged.adapters)
        self._call(entry, "hub_register_notifiers", registry=staged.notifiers)
        self._call(entry, "hub_register_rules", registry=staged.rule_packs)
        for result in self._call(entry, "hub_sensitive_fields"):
            staged.sensitive_fields |= _field_names(result)
        return staged

    def _commit(self, entry: _Entry, staged: _Staged) -> None:
        for name, adapter_cls in staged.adapters.items():
            version = adapter_cls.manifest.plugin_api_version
            if _minor(version) > _minor(PLUGIN_API_VERSION):
                log.warning(
                    "plugin_api_minor_newer",
                    plugin=entry.name,
                    adapter=name,
                    plugin_api_version=version,
                    hub_plugin_api_version=PLUGIN_API_VERSION,
                )
        self._adapters.update(staged.adapters)
        self._notifiers.update(staged.notifiers)
        self._rule_packs.update(staged.rule_packs)
        self._sensitive |= staged.sensitive_fields
        entry.adapters = tuple(staged.adapters)
        entry.capabilities = tuple(
            sorted({c.value for a in staged.adapters.values() for c in a.manifest.capabilities})
        )
        entry.notifiers = tuple(staged.notifiers)
        entry.rule_packs = tuple(staged.rule_packs)

    def _call(self, entry: _Entry, hook_name: str, **kwargs: object) -> list[object]:
        """Call one plugin's implementation of a hook, alone (pluggy would abort the whole call
        on the first exception; one plugin per call keeps failures isolated)."""
        others = [p for n, p in self._pm.list_name_plugin() if n != entry.name and p is not None]
        caller = self._pm.subset_hook_caller(hook_name, remove_plugins=others)
        try:
            results: list[object] = caller(**kwargs)
        except Exception as exc:  # isolation boundary: the plugin is refused, the hub runs on
            raise _Refusal(f"{hook_name} failed: {type(exc).__name__}: {exc}") from exc
        for result in results:
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()  # never awaited by design; closing avoids a RuntimeWarning
                raise _Refusal(
                    f"{hook_name} returned an awaitable; attendance_hub hooks must be "
                    "synchronous and do no I/O"
                )
        return results

    # -- what was loaded ----------------------------------------------------------------------

    @property
    def adapters(self) -> Mapping[str, type[Adapter[Any]]]:
        """Adapter classes by manifest name (`[[connections]] plugin = "<name>"`)."""
        return MappingProxyType(self._adapters)

    @property
    def notifiers(self) -> Mapping[str, type[Notifier[Any]]]:
        return MappingProxyType(self._notifiers)

    @property
    def rule_packs(self) -> Mapping[str, RulePack]:
        return MappingProxyType(self._rule_packs)

    @property
    def refused(self) -> list[RefusedPlugin]:
        return [
            RefusedPlugin(entry.name, entry.reason or "refused")
            for entry in self._entries
            if entry.status == "refused"
        ]

    def sensitive_fields(self) -> frozenset[str]:
        """Field names the log redactor must mask: every plugin's `hub_sensitive_fields` plus
        the secret fields of every registered adapter's and notifier's config model."""
        fields = set(self._sensitive)
        for adapter_cls in self._adapters.values():
            fields.update(secret_fields(adapter_cls.manifest.config_model))
        for notifier_cls in self._notifiers.values():
            fields.update(secret_fields(notifier_cls.config_model))
        return frozenset(name.lower() for name in fields)

    def inventory(self) -> list[PluginInfo]:
        """Every discovered entry point, loaded or not, ordered by name."""
        return [entry.info() for entry in self._entries]


def _conflicts(staged: Mapping[str, _Staged]) -> dict[str, str]:
    """Refusal reasons for plugins that register a name another plugin registers too.

    Every claimant is refused, whatever the load order: silently picking one would let an
    unrelated plugin take over, say, the "sims" connections. The operator blocks one of them.
    """
    claims: dict[tuple[str, str], list[str]] = {}
    for plugin, registered in staged.items():
        for kind, names in (
            ("adapter", registered.adapters),
            ("notifier", registered.notifiers),
            ("rule pack", registered.rule_packs),
        ):
            for name in names:
                claims.setdefault((kind, name), []).append(plugin)
    reasons: dict[str, list[str]] = {}
    for (kind, name), plugins in claims.items():
        if len(plugins) > 1:
            listed = ", ".join(repr(p) for p in plugins)
            for plugin in plugins:
                reasons.setdefault(plugin, []).append(
                    f"{kind} {name!r} is registered by several plugins ({listed}); "
                    "block all but one (plugins.block)"
                )
    return {plugin: "; ".join(messages) for plugin, messages in reasons.items()}


def _field_names(result: object) -> set[str]:
    if isinstance(result, str | bytes) or not isinstance(result, Iterable):
        raise _Refusal(
            "hub_sensitive_fields must return an iterable of field names, "
            f"not {type(result).__name__}"
        )
    names = set()
    for name in result:
        if not isinstance(name, str) or not name.strip():
            raise _Refusal(f"hub_sensitive_fields returned {name!r}, not a field name")
        names.add(name.strip())
    return names


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def _dist_label(ep: EntryPoint) -> str:
    dist = ep.dist
    return "no distribution" if dist is None else f"{dist.name} {dist.version}"
