"""attendance_hub hook implementations for CPOMS: registration only, no I/O."""

from __future__ import annotations

from hub.sdk import AdapterRegistry, hookimpl

from .adapter import CpomsAdapter


@hookimpl
def hub_register_adapters(registry: AdapterRegistry) -> None:
    registry.register(CpomsAdapter)
