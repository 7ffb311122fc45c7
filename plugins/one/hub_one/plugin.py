"""attendance_hub hook implementations for One: registration only, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from hub.sdk import AdapterRegistry, hookimpl

from .adapter import OneAdapter


@hookimpl
def hub_register_adapters(registry: AdapterRegistry) -> None:
    registry.register(OneAdapter)


#: One's wire records: learner names and dates of birth, submission details, match lists.
SENSITIVE_FIELDS = (
    "forename",
    "surname",
    "dob",
    "full_name",
    "details",
    "unmatched_upns",
    "conflict_upns",
)


@hookimpl
def hub_sensitive_fields() -> Iterable[str]:
    return SENSITIVE_FIELDS
