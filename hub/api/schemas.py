"""Wire models of the API that are not contracts: parameters, envelopes and replies.

Contracts (`hub_contracts`) are the records; these wrap them (`{"items": [...]}`), describe
query strings and path parameters, and shape replies. Each is a pydantic model so that the
OpenAPI document and the validation the handlers get come from one definition.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from hub.api import examples
from hub_contracts import (
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    Session,
)
from hub_contracts._base import SettingId, Upn


class WireModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ParamModel(BaseModel):
    """Path or query parameters: unknown names are refused, values are strings on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# --- path parameters ---------------------------------------------------------------------


class SettingPath(ParamModel):
    id: SettingId = Field(description="The setting id.", examples=[examples.SETTING_ID])


class LearnerPath(ParamModel):
    upn: Upn = Field(
        description="The learner's UPN (check letter verified).", examples=[examples.UPN]
    )


class ConnectionPath(ParamModel):
    connection: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="A configured connection name ([[connections]] name).",
        examples=["ysgol-a-sims"],
    )


# --- query parameters --------------------------------------------------------------------


class DateRangeQuery(ParamModel):
    date_from: dt.date | None = Field(
        default=None, alias="from", description="First date, inclusive (default: no limit)."
    )
    date_to: dt.date | None = Field(
        default=None, alias="to", description="Last date, inclusive (default: no limit)."
    )

    @field_validator("date_to")
    @classmethod
    def _not_before_from(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("date_from")
        if value is not None and start is not None and value < start:
            raise ValueError("`to` is before `from`")
        return value

    @property
    def first(self) -> dt.date:
        return self.date_from or dt.date.min

    @property
    def last(self) -> dt.date:
        return self.date_to or dt.date.max


class AttendanceQuery(DateRangeQuery):
    setting_id: SettingId | None = Field(
        default=None, description="Count only the marks recorded by this setting."
    )


class DiscrepancyQuery(ParamModel):
    upn: Upn | None = None
    setting_id: SettingId | None = Field(default=None, description="Involving this setting.")
    kind: DiscrepancyKind | None = None
    status: DiscrepancyStatus | None = Field(default=None, description="Without it: every status.")


class NotificationQuery(ParamModel):
    upn: Upn | None = None
    kind: NotificationKind | None = None
    recipient: str | None = Field(default=None, min_length=1, max_length=200)
    status: NotificationStatus | None = Field(default=None, description="Without it: every status.")


#: Dates the deciding endpoints accept. Their rules count school days and look back weeks from
#: the date; near `date.min` / `date.max` that arithmetic overflows (found by schemathesis: a
#: 500), and no register, deletion or return is dated outside these years.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


class AbsenceReturnQuery(ParamModel):
    la_code: str = Field(
        pattern=r"^[0-9]{3}$", description="The LA the return is for.", examples=[examples.LA_CODE]
    )
    as_of: dt.date = Field(
        ge=EARLIEST_DATE,
        le=LATEST_DATE,
        description="Last day of the period the return covers.",
        examples=[examples.DAY],
    )


class ConsentPath(ParamModel):
    id: str = Field(
        min_length=1,
        max_length=64,
        description="A roll deletion decision id.",
        examples=["del_0123456789abcdef0123456789abcdef"],
    )
    setting_id: SettingId = Field(
        description="The setting whose proprietor consents.", examples=[examples.PROVIDER_ID]
    )


# --- request bodies ----------------------------------------------------------------------


class CalendarUpdate(WireModel):
    """The setting's school days; replaces every stored day of that setting."""

    school_days: list[dt.date] = Field(description="Dates the setting meets (any order).")


_MARK_ITEMS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"$ref": "#/components/schemas/AttendanceMark"},
    "description": "Each mark is validated on its own: a bad one is rejected, the rest accepted.",
}


class MarksBatch(WireModel):
    # Items stay raw here: each is validated by the ingest path and rejected individually
    # (index and reason in the 200 reply), never by failing the whole batch.
    marks: Annotated[list[JsonValue], WithJsonSchema(_MARK_ITEMS_SCHEMA)]


# --- replies -----------------------------------------------------------------------------


class ErrorDetail(WireModel):
    code: str
    message: str
    field: str | None = Field(description="Dotted wire path of the offending field, or null.")


class ErrorReply(WireModel):
    error: ErrorDetail


class IdReply(WireModel):
    id: int = Field(description="The stored record's id (stable: re-sending returns it again).")


class MarkRejection(WireModel):
    index: int = Field(ge=0, description="Position of the mark in the request's `marks`.")
    error: ErrorDetail


class MarksReply(WireModel):
    accepted: int = Field(ge=0)
    rejected: list[MarkRejection]


class MarkEntryReply(WireModel):
    """One register entry as received (an amendment is a new entry; none is overwritten)."""

    code: str
    minutes_late: int | None
    source: str
    source_ref: str | None
    recorded_at: dt.datetime
    received_at: dt.datetime
    current: bool


class RegisterCellReply(WireModel):
    """One learner's session at one setting: the mark in force and every entry received."""

    setting_id: str
    date: dt.date
    session: Session
    code: str
    minutes_late: int | None
    source: str
    source_ref: str | None
    recorded_at: dt.datetime
    amended: bool = Field(description="True when the cell has more than one entry.")
    history: list[MarkEntryReply] = Field(description="Every entry, in arrival order.")


class LearnerMarksReply(WireModel):
    upn: str
    date_from: dt.date | None = Field(alias="from")
    date_to: dt.date | None = Field(alias="to")
    marks: list[RegisterCellReply]

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class AttendanceReply(WireModel):
    possible_sessions: int
    present: int
    aea: int
    authorised: int
    unauthorised: int
    not_counted: int
    attendance_pct: float | None
    persistent_absence: bool


class DiscrepancyList(WireModel):
    items: list[Discrepancy]


class NotificationList(WireModel):
    items: list[Notification]


class PluginEntry(WireModel):
    name: str
    distribution: str | None
    version: str | None
    module: str
    status: str = Field(description="loaded, refused or blocked")
    reason: str | None
    adapters: list[str]
    capabilities: list[str]
    notifiers: list[str]
    rule_packs: list[str]
    hooks: list[str]


class PluginList(WireModel):
    items: list[PluginEntry]


class StreamState(WireModel):
    stream: str
    cursor_present: bool = Field(description="A cursor is stored (its value is not shown).")
    updated_at: dt.datetime


class LeaseState(WireModel):
    owner: str
    lease_until: dt.datetime
    acquired_at: dt.datetime


class ConnectionState(WireModel):
    name: str
    plugin: str | None = Field(description="Null when no longer configured.")
    kind: str | None = Field(description="adapter, notifier or unknown (plugin not loaded).")
    enabled: bool | None
    configured: bool = Field(description="False for state left by a removed connection.")
    status: str = Field(description="ok, retrying, failing or never_run")
    last_success_at: dt.datetime | None
    last_error_at: dt.datetime | None
    last_error: str | None = Field(description="The SDK error class and message.")
    error_class: str | None
    consecutive_failures: int = Field(ge=0)
    lag_seconds: float | None = Field(description="Since the last successful sync pass.")
    streams: list[StreamState]
    lease: LeaseState | None = Field(description="The worker syncing it now, if any.")


class ConnectionList(WireModel):
    items: list[ConnectionState]


class WebhookReply(WireModel):
    connection: str
    accepted: int = Field(ge=0, description="Marks accepted.")
    rejected: list[MarkRejection] = Field(description="Marks rejected, by position in the push.")
    reference_changed: int = Field(ge=0, description="Reference records stored or changed.")


class HealthReply(WireModel):
    status: str
    version: str


class ReadyReply(WireModel):
    status: str
    reason: str | None = None


__all__ = [
    "AttendanceQuery",
    "AttendanceReply",
    "CalendarUpdate",
    "ConnectionList",
    "ConnectionPath",
    "DateRangeQuery",
    "DiscrepancyList",
    "DiscrepancyQuery",
    "ErrorReply",
    "HealthReply",
    "IdReply",
    "LearnerMarksReply",
    "LearnerPath",
    "MarksBatch",
    "MarksReply",
    "NotificationList",
    "NotificationQuery",
    "PluginList",
    "ReadyReply",
    "SettingPath",
    "WebhookReply",
]
