"""attendance_hub hook implementations for SIMS: registration only, no I/O."""

from __future__ import annotations

from hub.sdk import AdapterRegistry, hookimpl

from .adapter import SimsAdapter


@hookimpl
def hub_register_adapters(registry: AdapterRegistry) -> None:
    registry.register(SimsAdapter)


@hookimpl
def hub_sensitive_fields() -> list[str]:
    # Credential keys as they appear in config, token responses and request headers.
    return [
        "client_secret",
        "subscription_key",
        "webhook_secret",
        "access_token",
        "ocp-apim-subscription-key",
    ]
