"""attendance_hub hook implementations for CPOMS: registration only, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from hub.sdk import AdapterRegistry, hookimpl

from .adapter import CpomsAdapter


@hookimpl
def hub_register_adapters(registry: AdapterRegistry) -> None:
    registry.register(CpomsAdapter)


#: CPOMS's student and incident fields: names, dates of birth, the description.
SENSITIVE_FIELDS = ("forename", "surname", "dob", "description")


@hookimpl
def hub_sensitive_fields() -> Iterable[str]:
    return SENSITIVE_FIELDS
