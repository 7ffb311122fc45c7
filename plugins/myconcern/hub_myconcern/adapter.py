"""The MyConcern adapter: raise a concern for a safeguarding alert or a CME referral, and read
whether the designated safeguarding lead has picked it up.

MyConcern publishes no inbound API. The adapter speaks a minimal REST contract modelled by this
project (README.md): a concern with a category, an urgency, a learner match and an external
reference; the external reference is the hub's idempotency key, searched before creating.
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import AnyHttpUrl, Field, SecretStr

from hub.sdk import (
    Adapter,
    AdapterConfig,
    AdapterManifest,
    Capability,
    ConfigError,
    ContractViolation,
    HttpClient,
    PermanentError,
)
from hub_contracts import DeliveryReceipt, Notification

from .client import MyConcernClient
from .mapping import (
    CONCERN_KINDS,
    DEFAULT_CATEGORIES,
    Concern,
    ConcernEnvelope,
    ConcernSearch,
    WhoAmI,
    concern_body,
    hub_status,
    receipt_from_concern,
    validate_dto,
)

__all__ = ["REQUIRED_SCOPES", "MyConcernAdapter", "MyConcernConfig"]

#: What the hub's token must be allowed to do (assumed scope names, see README).
REQUIRED_SCOPES = frozenset({"concerns:read", "concerns:write"})


class MyConcernConfig(AdapterConfig):
    """One MyConcern tenant. Secrets are `env:VAR` / `file:PATH` references in hub.toml."""

    base_url: AnyHttpUrl = Field(description="the concern API base of this tenant")
    api_token: SecretStr
    categories: dict[str, str] = Field(
        default_factory=dict,
        description="hub category (or notification kind) -> this school's MyConcern category; "
        "merged over the defaults",
    )
    http_timeout: float | None = Field(
        default=None, gt=0, le=300, description="seconds allowed per request (default: the hub's)"
    )


class MyConcernAdapter(Adapter[MyConcernConfig]):
    manifest = AdapterManifest(
        name="myconcern",
        display_name="MyConcern",
        capabilities=frozenset({Capability.RAISE_CONCERN, Capability.READ_CONCERN_STATUS}),
        config_model=MyConcernConfig,
        # No published API host: the only host is the configured base_url.
        allowed_hosts=(),
    )

    def __init__(self, config: MyConcernConfig, http: HttpClient, *, connection_name: str) -> None:
        super().__init__(config, http, connection_name=connection_name)
        self.client = MyConcernClient(
            http, str(config.base_url), config.api_token, timeout=config.http_timeout
        )
        self.categories = {**DEFAULT_CATEGORIES, **config.categories}

    async def check(self) -> None:
        response = await self.client.request("GET", "whoami")
        who = validate_dto(WhoAmI, response.json(), "MyConcern's whoami")
        missing = REQUIRED_SCOPES - set(who.scopes)
        if missing:
            raise ConfigError(
                f"connection {self.connection_name!r}: the MyConcern token lacks the scopes "
                + ", ".join(sorted(missing))
            )

    async def raise_concern(self, alert: Notification, idempotency_key: str) -> DeliveryReceipt:
        """Raise a concern for a `safeguarding_alert` or `cme_referral`; the receipt's
        `external_ref` is MyConcern's concern id and `detail` says whether MyConcern matched
        the learner (``subject=matched|unmatched|mismatch``)."""
        if alert.kind not in CONCERN_KINDS:
            raise PermanentError(
                f"MyConcern takes safeguarding_alert and cme_referral; notification {alert.id} "
                f"is a {alert.kind.value}"
            )
        body = concern_body(alert, idempotency_key, self.categories)
        # Search before create: a retry after a lost response finds the concern it made.
        existing = await self._find(idempotency_key)
        if existing is None:
            response = await self.client.request(
                "POST", "concerns", json=body, passthrough=frozenset({409})
            )
            if response.status != 409:
                concern = validate_dto(ConcernEnvelope, response.json(), "MyConcern's concern")
                return receipt_from_concern(alert, idempotency_key, concern.concern)
            # Created meanwhile by a concurrent delivery with the same key: use that one.
            existing = await self._find(idempotency_key)
            if existing is None:
                raise PermanentError(
                    "MyConcern reported a duplicate external reference it cannot find"
                )
        return receipt_from_concern(alert, idempotency_key, existing)

    async def concern_status(self, external_ref: str) -> str:
        """``open`` (awaiting the DSL's review), ``acknowledged`` (under review) or ``closed``."""
        if not external_ref.strip():
            raise PermanentError("a MyConcern concern id is needed to read its status")
        response = await self.client.request("GET", "concerns/" + quote(external_ref, safe=""))
        envelope = validate_dto(ConcernEnvelope, response.json(), "MyConcern's concern")
        return hub_status(envelope.concern)

    async def _find(self, external_reference: str) -> Concern | None:
        response = await self.client.request(
            "GET", "concerns", params={"external_reference": external_reference}
        )
        found = validate_dto(ConcernSearch, response.json(), "MyConcern's concern search")
        matches = [c for c in found.concerns if c.external_reference == external_reference]
        if len(matches) > 1:
            raise ContractViolation(
                "MyConcern holds more than one concern with one external reference"
            )
        return matches[0] if matches else None
