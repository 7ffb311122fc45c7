"""attendance_hub hook implementations for MyConcern: registration only, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from hub.sdk import AdapterRegistry, hookimpl

from .adapter import MyConcernAdapter


@hookimpl
def hub_register_adapters(registry: AdapterRegistry) -> None:
    registry.register(MyConcernAdapter)


#: MyConcern's concern fields: the learner match and the summary.
SENSITIVE_FIELDS = ("subject", "summary", "full_name")


@hookimpl
def hub_sensitive_fields() -> Iterable[str]:
    return SENSITIVE_FIELDS
