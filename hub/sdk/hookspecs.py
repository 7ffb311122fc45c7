"""The hooks of the attendance-hub plugin API — the single source of truth.

A plugin is a module exposed through the entry-point group ``attendance_hub.plugins``::

    # pyproject.toml
    [project.entry-points."attendance_hub.plugins"]
    acme = "hub_acme.plugin"

    # hub_acme/plugin.py
    from hub.sdk import AdapterRegistry, hookimpl

    @hookimpl
    def hub_register_adapters(registry: AdapterRegistry) -> None:
        registry.register(AcmeAdapter)

Rules common to every hook:

- **synchronous, no I/O.** pluggy does not await coroutines, so the host refuses a plugin whose
  hook implementation is ``async def`` or returns an awaitable. Hooks only *register* objects;
  the objects carry the async behaviour (adapters, notifiers).
- **called once, at start-up**, after every plugin has been imported, one plugin at a time. If a
  plugin's hook raises, that plugin is refused as a whole (nothing it registered is kept) and
  the hub runs without it.
- **opt-in arguments.** An implementation may accept fewer arguments than the spec; arguments
  may be added to a hook in a minor version of the plugin API, never removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .registry import AdapterRegistry, NotifierRegistry, RulePackRegistry

__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "hub_register_adapters",
    "hub_register_notifiers",
    "hub_register_rules",
    "hub_sensitive_fields",
]

#: The pluggy project name; markers of any other project are ignored by the host.
PROJECT_NAME = "attendance_hub"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Mark a plugin's hook implementations with ``@hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------------------------
# Registration hooks
# -------------------------------------------------------------------------------------------


@hookspec
def hub_register_adapters(registry: AdapterRegistry) -> None:
    """Register the plugin's adapter classes with ``registry.register(AdapterClass)``.

    :param registry: The adapter registry. ``register`` raises ``RegistrationError`` for an
        invalid manifest, a plugin API version of another major, a declared capability whose
        method is not overridden, or a name another plugin already took.

    Register classes, not instances: the core creates one instance per configured connection.
    Return value: ignored.

    .. versionadded:: 1.0
    """


@hookspec
def hub_register_notifiers(registry: NotifierRegistry) -> None:
    """Register delivery channels that are not vendor adapters (e-mail, say) with
    ``registry.register(name, NotifierClass)``.

    :param registry: The notifier registry; a name already taken raises ``RegistrationError``.

    Return value: ignored.

    .. versionadded:: 1.0
    """


@hookspec
def hub_register_rules(registry: RulePackRegistry) -> None:
    """Register LA-specific rule packs with ``registry.register(RulePack(...))``, e.g. "notify
    the CME team of every removal".

    Rule packs add to the statutory rules; they can never relax them.

    :param registry: The rule-pack registry; a name already taken raises ``RegistrationError``.

    Return value: ignored.

    .. versionadded:: 1.0
    """


# -------------------------------------------------------------------------------------------
# Diagnostics hooks
# -------------------------------------------------------------------------------------------


@hookspec
def hub_sensitive_fields() -> Iterable[str]:
    """Return extra field names whose values the logging redactor must mask.

    Use it for vendor-specific payload and credential keys (``"subscription_key"``,
    ``"access_token"``) that are not obvious from their name. Secret fields of registered
    adapters' config models are masked without being listed here.

    Return value: an iterable of field names (not a single ``str``); the results of all plugins
    are unioned. Matching is case-insensitive.

    .. versionadded:: 1.0
    """
    raise NotImplementedError  # pragma: no cover - a spec, never called
