"""The CPOMS adapter: manifest and configuration now; the protocol arrives in issue #6.

CPOMS publishes no inbound API. The adapter will speak a minimal REST contract modelled
by this project (create a incident with category, learner match, urgency and an external reference
used for idempotency; read its status), stated as an assumption in README.md.
"""

from __future__ import annotations

from pydantic import AnyHttpUrl, Field, SecretStr

from hub.sdk import Adapter, AdapterConfig, AdapterManifest, Capability, PermanentError
from hub_contracts import DeliveryReceipt, Notification

NOT_YET_IMPLEMENTED = "adapter not yet implemented (issue #6)"


class CpomsConfig(AdapterConfig):
    """One CPOMS tenant. Secrets are `env:VAR` / `file:PATH` references in hub.toml."""

    base_url: AnyHttpUrl = Field(description="the incident API base of this tenant")
    api_token: SecretStr


class CpomsAdapter(Adapter[CpomsConfig]):
    manifest = AdapterManifest(
        name="cpoms",
        display_name="CPOMS",
        capabilities=frozenset({Capability.RAISE_CONCERN, Capability.READ_CONCERN_STATUS}),
        config_model=CpomsConfig,
        # No published API host: the only host is the configured base_url.
        allowed_hosts=(),
    )

    async def check(self) -> None:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def raise_concern(self, alert: Notification, idempotency_key: str) -> DeliveryReceipt:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def concern_status(self, external_ref: str) -> str:
        raise PermanentError(NOT_YET_IMPLEMENTED)
