"""The SIMS adapter: manifest and configuration now; the vendor protocol arrives in issue #6.

Vendor facts the adapter must honour (public SIMS partner documentation, see README.md): OAuth2
client credentials from `sts.sims.co.uk` plus an `Ocp-Apim-Subscription-Key` header; 1,000
records a page with a continuation link; at most 90 days per attendance query; per-record write
validation; local codes mapped to statutory codes through `Statutory_Return_Code`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import AnyHttpUrl, Field, HttpUrl, SecretStr

from hub.sdk import (
    Adapter,
    AdapterConfig,
    AdapterManifest,
    Capability,
    Page,
    PermanentError,
    WebhookRecord,
    WriteResult,
)
from hub_contracts import AttendanceMark, Learner, Registration

NOT_YET_IMPLEMENTED = "adapter not yet implemented (issue #6)"


class SimsConfig(AdapterConfig):
    """One school's SIMS connection. Secrets are `env:VAR` / `file:PATH` references in hub.toml."""

    base_url: AnyHttpUrl = Field(
        description="SIMS partner API base, e.g. https://seli00apm01.azure-api.net/ssli01"
    )
    token_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://sts.sims.co.uk/connect/token"),
        description="OAuth2 token endpoint (client credentials grant)",
    )
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr
    subscription_key: SecretStr = Field(description="sent as the Ocp-Apim-Subscription-Key header")
    school_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        description="the hub setting id of this school (e.g. its DfE/Welsh establishment number)",
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key for pushes to /v1/webhooks/{connection}"
    )


class SimsAdapter(Adapter[SimsConfig]):
    manifest = AdapterManifest(
        name="sims",
        display_name="SIMS (ESS)",
        capabilities=frozenset(
            {
                Capability.READ_LEARNERS,
                Capability.READ_ROLL,
                Capability.READ_MARKS,
                Capability.WRITE_MARKS,
                Capability.RECEIVE_WEBHOOK,
            }
        ),
        config_model=SimsConfig,
        allowed_hosts=("sts.sims.co.uk", "seli00apm01.azure-api.net"),
        vendor_docs=HttpUrl("https://www.sims-partners.com/"),
    )

    async def check(self) -> None:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def read_roll(self, cursor: str | None) -> Page[Registration]:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def read_marks(self, cursor: str | None) -> Page[AttendanceMark]:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def write_marks(
        self, batch: Sequence[AttendanceMark], idempotency_key: str
    ) -> WriteResult:
        raise PermanentError(NOT_YET_IMPLEMENTED)

    async def handle_webhook(self, headers: Mapping[str, str], body: bytes) -> Page[WebhookRecord]:
        raise PermanentError(NOT_YET_IMPLEMENTED)
