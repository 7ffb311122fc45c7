"""The CPOMS adapter: log an incident for a safeguarding alert or a CME referral against the
CPOMS student, filed under the school's categories with the DSL alerted, and read whether it
has been acknowledged.

CPOMS publishes no inbound API. The adapter speaks a minimal REST contract modelled by this
project (README.md); the incident's external reference is the hub's idempotency key, searched
before creating.
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

from .client import CpomsClient, CpomsRefusal
from .mapping import (
    DEFAULT_CATEGORIES,
    DEFAULT_FLAG_CATEGORIES,
    INCIDENT_KINDS,
    CategoryPage,
    Incident,
    IncidentEnvelope,
    Incidents,
    SchoolEnvelope,
    Students,
    category_names,
    hub_status,
    incident_body,
    receipt_from_incident,
    validate_dto,
)

__all__ = ["CpomsAdapter", "CpomsConfig"]

#: Bound on the pages of the category listing (a school has tens of categories, not thousands).
MAX_CATEGORY_PAGES = 50


class CpomsConfig(AdapterConfig):
    """One CPOMS tenant. Secrets are `env:VAR` / `file:PATH` references in hub.toml."""

    base_url: AnyHttpUrl = Field(description="the incident API base of this tenant")
    api_token: SecretStr
    categories: dict[str, list[str]] = Field(
        default_factory=dict,
        description="hub category (or notification kind) -> this school's CPOMS category "
        "names; merged over the defaults",
    )
    flag_categories: dict[str, str] | None = Field(
        default=None,
        description="learner flag (looked_after, child_protection_plan) -> an extra CPOMS "
        "category when the flag is set; null keeps the defaults, {} adds none",
    )
    http_timeout: float | None = Field(
        default=None, gt=0, le=300, description="seconds allowed per request (default: the hub's)"
    )


class CpomsAdapter(Adapter[CpomsConfig]):
    manifest = AdapterManifest(
        name="cpoms",
        display_name="CPOMS",
        capabilities=frozenset({Capability.RAISE_CONCERN, Capability.READ_CONCERN_STATUS}),
        config_model=CpomsConfig,
        # No published API host: the only host is the configured base_url.
        allowed_hosts=(),
    )

    def __init__(self, config: CpomsConfig, http: HttpClient, *, connection_name: str) -> None:
        super().__init__(config, http, connection_name=connection_name)
        self.client = CpomsClient(
            http, str(config.base_url), config.api_token, timeout=config.http_timeout
        )
        self.categories = {
            **DEFAULT_CATEGORIES,
            **{key: tuple(names) for key, names in config.categories.items()},
        }
        self.flag_categories = (
            dict(DEFAULT_FLAG_CATEGORIES)
            if config.flag_categories is None
            else config.flag_categories
        )
        self._category_cache: dict[str, int] | None = None

    async def check(self) -> None:
        validate_dto(SchoolEnvelope, await self.client.get("school"), "CPOMS's school")

    async def raise_concern(self, alert: Notification, idempotency_key: str) -> DeliveryReceipt:
        """Log an incident for a `safeguarding_alert` or `cme_referral`; the receipt's
        `external_ref` is CPOMS's incident id."""
        if alert.kind not in INCIDENT_KINDS:
            raise PermanentError(
                f"CPOMS takes safeguarding_alert and cme_referral; notification {alert.id} is "
                f"a {alert.kind.value}"
            )
        # Search before create: a retry after a lost response finds the incident it made.
        existing = await self._find(idempotency_key)
        if existing is not None:
            return receipt_from_incident(alert, idempotency_key, existing)
        student_id = await self._student_id(alert)
        category_ids = await self._category_ids_for(alert)
        body = incident_body(alert, idempotency_key, student_id, category_ids)
        try:
            raw = await self.client.post("incidents", body)
        except CpomsRefusal as refusal:
            if refusal.codes.get("external_ref") != "taken":
                raise
            # Logged meanwhile by a concurrent delivery with the same key: use that one.
            existing = await self._find(idempotency_key)
            if existing is None:
                raise PermanentError(
                    "CPOMS reported the external reference taken but cannot find it"
                ) from None
            return receipt_from_incident(alert, idempotency_key, existing)
        incident = validate_dto(IncidentEnvelope, raw, "CPOMS's incident").data
        return receipt_from_incident(alert, idempotency_key, incident)

    async def concern_status(self, external_ref: str) -> str:
        """``open``, ``acknowledged`` (an alerted member of staff acknowledged it) or
        ``closed``."""
        if not external_ref.strip():
            raise PermanentError("a CPOMS incident id is needed to read its status")
        raw = await self.client.get("incidents/" + quote(external_ref, safe=""))
        return hub_status(validate_dto(IncidentEnvelope, raw, "CPOMS's incident").data)

    async def _find(self, external_ref: str) -> Incident | None:
        raw = await self.client.get("incidents", {"external_ref": external_ref})
        found = [
            incident
            for incident in validate_dto(Incidents, raw, "CPOMS's incident search").data
            if incident.external_ref == external_ref
        ]
        if len(found) > 1:
            raise ContractViolation("CPOMS holds more than one incident with one external_ref")
        return found[0] if found else None

    async def _student_id(self, alert: Notification) -> int:
        upn = alert.upn or alert.payload.get("upn")
        if not isinstance(upn, str) or not upn:
            raise PermanentError(f"notification {alert.id}: an incident needs the learner's UPN")
        raw = await self.client.get("students", {"upn": upn})
        students = [s for s in validate_dto(Students, raw, "CPOMS's students").data if s.upn == upn]
        if not students:
            # CPOMS holds the students its MIS sync brought in; one it lacks cannot be alerted.
            raise PermanentError(
                f"notification {alert.id}: CPOMS has no student with the learner's UPN "
                "(is the MIS sync behind?)"
            )
        if len(students) > 1:
            raise ContractViolation("CPOMS holds more than one student with one UPN")
        student = students[0]
        dob = alert.payload.get("date_of_birth")
        if isinstance(dob, str) and dob and dob != student.dob.isoformat():
            # Same UPN, another date of birth: an incident on the wrong child is worse than none.
            raise PermanentError(
                f"notification {alert.id}: the CPOMS student with the learner's UPN has "
                "another date of birth"
            )
        return student.id

    async def _category_ids_for(self, alert: Notification) -> list[int]:
        names = category_names(alert, self.categories, self.flag_categories)
        if not names:
            raise PermanentError(f"notification {alert.id}: no CPOMS category configured")
        ids = await self._category_ids(refresh=False)
        if any(name not in ids for name in names):
            ids = await self._category_ids(refresh=True)  # added since we last looked?
        missing = [name for name in names if name not in ids]
        if missing:
            raise ConfigError(
                f"connection {self.connection_name!r}: CPOMS has no categor"
                f"{'y' if len(missing) == 1 else 'ies'} {', '.join(map(repr, missing))}; "
                "add them in CPOMS or map the hub's categories in `categories`"
            )
        return [ids[name] for name in names]

    async def _category_ids(self, *, refresh: bool) -> dict[str, int]:
        if self._category_cache is not None and not refresh:
            return self._category_cache
        ids: dict[str, int] = {}
        page = 1
        while True:
            raw = await self.client.get("categories", {"page": str(page)})
            listing = validate_dto(CategoryPage, raw, "CPOMS's categories")
            ids.update({category.name: category.id for category in listing.data})
            if listing.meta.page >= listing.meta.pages or not listing.data:
                break
            if page >= MAX_CATEGORY_PAGES:
                raise ContractViolation(f"CPOMS lists more than {MAX_CATEGORY_PAGES} pages")
            page += 1
        self._category_cache = ids
        return ids
