"""The One adapter: manifest and configuration now; the protocol arrives in issue #6.

One publishes no REST API for returns, referrals or CME enquiries (see README.md): the contract
the adapter will speak is modelled on One's documented B2B:Student behaviour — incoming learners
matched by UPN into matched / unmatched / conflict — and is stated as an assumption.
"""

from __future__ import annotations

from pydantic import AnyHttpUrl, Field, SecretStr

from hub.sdk import Adapter, AdapterConfig, AdapterManifest, Capability, Page, PermanentError
from hub_contracts import DeliveryReceipt, EotasPlacement, Notification, Registration

NOT_YET_IMPLEMENTED = "adapter not yet implemented (issue #6)"


class OneConfig(AdapterConfig):
    """One LA's One system. Secrets are `env:VAR` / `file:PATH` references in hub.toml."""

    base_url: AnyHttpUrl = Field(description="the LA's One integration endpoint")
    api_key: SecretStr
    la_code: str = Field(pattern=r"^[0-9]{3}$", description="the LA's 3-digit code")


class OneAdapter(Adapter[OneConfig]):
    manifest = AdapterManifest(
        name="one",
        display_name="One (Capita/ESS, local authority)",
        capabilities=frozenset(
            {
                Capability.READ_ROLL,
                Capability.READ_PLACEMENTS,
                Capability.SEND_RETURN,
                Capability.SEND_NOTIFICATION,
            }
        ),
        config_model=OneConfig,
        # One runs per LA (on premises or hosted): its only host is the configured base_url.
        allowed_hosts=(),
    )

    async def check(self) -> None:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def read_roll(self, cursor: str | None) -> Page[Registration]:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def read_placements(self, cursor: str | None) -> Page[EotasPlacement]:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def send_return(
        self, notification: Notification, idempotency_key: str
    ) -> DeliveryReceipt:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def send_notification(
        self, notification: Notification, idempotency_key: str
    ) -> DeliveryReceipt:
        raise PermanentError(NOT_YET_IMPLEMENTED)
