"""attendance_hub hook implementations for One: registration only, no I/O."""

from __future__ import annotations

from hub.sdk import AdapterRegistry, hookimpl

from .adapter import OneAdapter


@hookimpl
def hub_register_adapters(registry: AdapterRegistry) -> None:
    registry.register(OneAdapter)
