"""The One adapter: the LA's view (roll, EOTAS placements, CME enquiries) and delivery of
statutory returns, CME referrals and notices with One's acknowledgement ids.

One publishes no REST API for returns, referrals or CME enquiries (see README.md): the contract
spoken here is this project's, modelled on One's documented B2B:Student behaviour — incoming
learners matched by UPN into matched / unmatched / conflict — and is stated as an assumption.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import AnyHttpUrl, BaseModel, Field, HttpUrl, SecretStr

from hub.sdk import (
    Adapter,
    AdapterConfig,
    AdapterManifest,
    Capability,
    ConfigError,
    ContractViolation,
    HttpClient,
    Page,
    PermanentError,
)
from hub_contracts import (
    DeliveryReceipt,
    EotasPlacement,
    Notification,
    NotificationKind,
    Registration,
)

from .client import OneClient
from .mapping import (
    SUBMISSION_ROUTES,
    CmeEnquiryOutcome,
    Listing,
    OneCmeEnquiry,
    OnePing,
    OnePlacement,
    OneRegistration,
    SubmissionAck,
    cme_outcome_from_one,
    placement_from_one,
    receipt_from_ack,
    registration_from_one,
    submission_body,
    validate_dto,
)

__all__ = ["NOTIFICATION_KINDS", "RETURN_KINDS", "OneAdapter", "OneConfig"]

#: Statutory returns, delivered by `send_return`.
RETURN_KINDS = frozenset({NotificationKind.DELETION_RETURN, NotificationKind.ABSENCE_RETURN})
#: Other LA traffic, delivered by `send_notification`.
NOTIFICATION_KINDS = frozenset(
    {
        NotificationKind.CME_REFERRAL,
        NotificationKind.DELETION_NOTICE,
        NotificationKind.CONSENT_REQUEST,
    }
)

DTO = TypeVar("DTO", bound=BaseModel)
R = TypeVar("R")


class OneConfig(AdapterConfig):
    """One LA's One system. Secrets are `env:VAR` / `file:PATH` references in hub.toml."""

    base_url: AnyHttpUrl = Field(description="the LA's One integration endpoint")
    api_key: SecretStr
    la_code: str = Field(pattern=r"^[0-9]{3}$", description="the LA's 3-digit code")
    page_size: int = Field(
        default=100, ge=1, le=500, description="records asked for per page (One caps it)"
    )
    http_timeout: float | None = Field(
        default=None, gt=0, le=300, description="seconds allowed per request (default: the hub's)"
    )


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
        vendor_docs=HttpUrl(
            "https://onepublications.com/oneeducation/mergedProjects/B2B/Student/B2B_Student_setup.htm"
        ),
    )

    def __init__(self, config: OneConfig, http: HttpClient, *, connection_name: str) -> None:
        super().__init__(config, http, connection_name=connection_name)
        self.client = OneClient(
            http, str(config.base_url), config.api_key, timeout=config.http_timeout
        )

    async def check(self) -> None:
        ping = validate_dto(OnePing, await self.client.get("ping"), "One's ping")
        if ping.la_code != self.config.la_code:
            raise ConfigError(
                f"connection {self.connection_name!r}: la_code is {self.config.la_code} but this "
                f"One serves LA {ping.la_code}"
            )

    # --- the LA's view ----------------------------------------------------------------------

    async def read_roll(self, cursor: str | None) -> Page[Registration]:
        """Registrations One knows (single and dual), changed since `cursor`, in change order.

        Enrolments that are not a single or dual registration (CBDS status G, F, O, P) are
        left out."""
        return await self._read("roll", cursor, OneRegistration, registration_from_one)

    async def read_placements(self, cursor: str | None) -> Page[EotasPlacement]:
        """EOTAS / off-site placements One knows, changed since `cursor`."""
        return await self._read("eotas-placements", cursor, OnePlacement, placement_from_one)

    async def read_cme_outcomes(self, cursor: str | None) -> Page[CmeEnquiryOutcome]:
        """One-only: the LA's CME enquiries about referred children, changed since `cursor`.

        One opens an enquiry for each CME referral it receives; its `referral_ack_id` is the
        referral receipt's `external_ref`. Paged and incremental like the capability reads."""
        return await self._read("cme-enquiries", cursor, OneCmeEnquiry, cme_outcome_from_one)

    async def _read(
        self,
        path: str,
        cursor: str | None,
        dto: type[DTO],
        to_record: Callable[[DTO], R | None],
    ) -> Page[R]:
        params: dict[str, str | int] = {"limit": self.config.page_size}
        if cursor is not None:
            params["cursor"] = cursor
        listing = validate_dto(Listing, await self.client.get(path, params), f"One's {path} page")
        records: list[R] = []
        for index, item in enumerate(listing.items):
            record = to_record(validate_dto(dto, item, f"One's {path} item {index}"))
            if record is not None:
                records.append(record)
        # An empty page without a cursor (nothing changed): keep the one the core saved.
        next_cursor = listing.cursor if listing.cursor is not None else cursor
        if listing.has_more and next_cursor is None:
            raise ContractViolation(f"One's {path} page says has_more but gives no cursor")
        return Page(records, next_cursor=next_cursor, has_more=listing.has_more)

    # --- deliveries --------------------------------------------------------------------------

    async def send_return(
        self, notification: Notification, idempotency_key: str
    ) -> DeliveryReceipt:
        """A deletion return or the periodic absence return; the receipt's `external_ref` is
        One's acknowledgement id and its `detail` One's match outcome (see `receipt_detail`)."""
        return await self._submit(notification, idempotency_key, RETURN_KINDS, "send_return")

    async def send_notification(
        self, notification: Notification, idempotency_key: str
    ) -> DeliveryReceipt:
        """A CME referral, a deletion notice or a consent request, acknowledged like a return."""
        return await self._submit(
            notification, idempotency_key, NOTIFICATION_KINDS, "send_notification"
        )

    async def _submit(
        self,
        notification: Notification,
        idempotency_key: str,
        kinds: frozenset[NotificationKind],
        method: str,
    ) -> DeliveryReceipt:
        if notification.kind not in kinds:
            accepted = ", ".join(sorted(kind.value for kind in kinds))
            raise PermanentError(
                f"One's {method} takes {accepted}; notification {notification.id} is a "
                f"{notification.kind.value}"
            )
        collection, _ = SUBMISSION_ROUTES[notification.kind]
        body: Any = submission_body(notification, self.config.la_code)
        # One keys submissions by the Idempotency-Key header: a retry returns the first
        # acknowledgement instead of filing a second return.
        raw = await self.client.post(collection, body, idempotency_key=idempotency_key)
        ack = validate_dto(SubmissionAck, raw, f"One's acknowledgement of {collection}")
        return receipt_from_ack(notification, idempotency_key, ack)
