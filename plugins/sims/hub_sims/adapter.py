"""The SIMS adapter: learners, roll and session marks read incrementally; marks written back.

Vendor facts honoured (public SIMS partner documentation, see README.md): OAuth2 client
credentials from `sts.sims.co.uk` plus an `Ocp-Apim-Subscription-Key` header; 1,000 records a
page with a continuation link; at most 90 days per attendance query (longer ranges are split
here); per-record write validation; local codes mapped to statutory codes through the school's
code list (`Statutory_Return_Code`).

Cursors are opaque JSON strings the core stores (`_Cursor`). Within a run they carry the SIMS
`$skiptoken` of the next page (and, for marks, which 90-day window is being read); after the
last page, only the high-water mark for the next run: the ``@sims.asOf`` change clock SIMS
reported on the run's first page. Everything changed after it is read again next time, so a
change made while a run is paging is never skipped (it may be read twice; the core skips
records that did not change).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import structlog
from pydantic import AnyHttpUrl, Field, HttpUrl, SecretStr, model_validator

from hub.sdk import (
    Adapter,
    AdapterConfig,
    AdapterManifest,
    AuthError,
    Capability,
    ConfigError,
    ContractViolation,
    HttpClient,
    Page,
    PermanentError,
    RecordOutcome,
    WebhookRecord,
    WriteResult,
    verify_hmac_sha256,
)
from hub_contracts import AttendanceMark, Learner, Registration

from .client import SimsClient
from .mapping import (
    CodeList,
    SimsCodeDto,
    SimsEnrolmentDto,
    SimsLearnerDto,
    SimsMarkDto,
    parse_dtos,
    to_learner,
    to_mark,
    to_registration,
)

__all__ = ["MAX_DAYS_PER_QUERY", "SIGNATURE_HEADER", "SimsAdapter", "SimsConfig", "date_windows"]

log = structlog.get_logger(__name__)

#: SIMS enhanced attendance APIs: "a maximum 90 day" span per query.
MAX_DAYS_PER_QUERY = 90
#: SIMS answers at most this many records per write request; larger batches are split.
MAX_WRITE_BATCH = 1000
#: The header carrying a push's HMAC-SHA256 signature (assumed; SIMS documents no webhooks).
SIGNATURE_HEADER = "x-sims-signature"
_CURSOR_VERSION = 1

T = TypeVar("T")


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
    attendance_from: dt.date | None = Field(
        default=None,
        description="first date of marks to read (default: 1 September of the current "
        "academic year); split into 90-day queries",
    )
    attendance_to: dt.date | None = Field(
        default=None, description="last date of marks to read (default: today, UTC)"
    )

    @model_validator(mode="after")
    def _range_in_order(self) -> Self:
        if (
            self.attendance_from
            and self.attendance_to
            and self.attendance_to < self.attendance_from
        ):
            raise ValueError("attendance_to is before attendance_from")
        return self


def date_windows(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """`start`..`end` (inclusive) cut into consecutive windows of at most 90 days."""
    windows = []
    while start <= end:
        stop = min(end, start + dt.timedelta(days=MAX_DAYS_PER_QUERY - 1))
        windows.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return windows


def academic_year_start(day: dt.date) -> dt.date:
    """1 September of the academic year `day` falls in (England and Wales)."""
    year = day.year if day.month >= 9 else day.year - 1
    return dt.date(year, 9, 1)


@dataclass(frozen=True)
class _Cursor:
    """What the core stores between pages and runs (serialised as compact JSON)."""

    #: Changes strictly after this time are read (None: everything).
    since: str | None = None
    #: This run's high-water mark, fixed on its first page (None between runs).
    as_of: str | None = None
    #: Marks only: the 90-day window being read.
    window: int = 0
    #: The SIMS continuation token of the next page within the window.
    skip: str | None = None

    @classmethod
    def load(cls, raw: str | None) -> _Cursor:
        if raw is None:
            return cls()
        try:
            data = json.loads(raw)
            if data.get("v") != _CURSOR_VERSION:
                raise ValueError("version")
            cursor = cls(
                since=data.get("since"),
                as_of=data.get("as_of"),
                window=int(data.get("window", 0)),
                skip=data.get("skip"),
            )
            for value in (cursor.since, cursor.as_of, cursor.skip):
                if value is not None and not isinstance(value, str):
                    raise ValueError("type")
        except (ValueError, TypeError, AttributeError) as exc:
            raise PermanentError("the stored SIMS cursor is not one this adapter wrote") from exc
        return cursor

    def dump(self) -> str:
        data: dict[str, object] = {"v": _CURSOR_VERSION, "since": self.since}
        if self.as_of is not None:
            data.update(as_of=self.as_of, window=self.window, skip=self.skip)
        return json.dumps(data, separators=(",", ":"))


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

    def __init__(self, config: SimsConfig, http: HttpClient, *, connection_name: str) -> None:
        super().__init__(config, http, connection_name=connection_name)
        self.client = SimsClient(
            http,
            base_url=str(config.base_url),
            token_url=str(config.token_url),
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            subscription_key=config.subscription_key.get_secret_value(),
        )
        school = config.school_id
        self._learner_path = f"/Learner/V3/Schools/{school}/Learners"
        self._roll_path = f"/Learner/V3/Schools/{school}/Enrolments"
        self._marks_path = f"/Attendance/V3/Schools/{school}/SessionAttendances"
        self._codes_path = f"/Attendance/V3/Schools/{school}/AttendanceCodes"
        self._codes: CodeList | None = None

    async def check(self) -> None:
        codes = await self._code_list(refresh=True)
        if not len(codes):
            raise ConfigError("SIMS returned an empty attendance code list for this school")

    # --- reads --------------------------------------------------------------------------------

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        state = _Cursor.load(cursor)
        body = await self.client.get(self._learner_path, _listing_params(state))
        records = [to_learner(dto) for dto in parse_dtos(SimsLearnerDto, body.get("value"))]
        return _page(records, state, body, windows=1)

    async def read_roll(self, cursor: str | None) -> Page[Registration]:
        state = _Cursor.load(cursor)
        body = await self.client.get(self._roll_path, _listing_params(state))
        school = self.config.school_id
        records = [
            registration
            for dto in parse_dtos(SimsEnrolmentDto, body.get("value"))
            if (registration := to_registration(dto, school)) is not None
        ]
        return _page(records, state, body, windows=1)

    async def read_marks(self, cursor: str | None) -> Page[AttendanceMark]:
        state = _Cursor.load(cursor)
        windows = self._mark_windows()
        if state.window >= len(windows):
            raise PermanentError("the stored SIMS cursor points past the configured date range")
        start, end = windows[state.window]
        params = _listing_params(state)
        params.update(startDate=start.isoformat(), endDate=end.isoformat())
        body = await self.client.get(self._marks_path, params)
        dtos = parse_dtos(SimsMarkDto, body.get("value"))
        codes = await self._code_list()
        if any(not codes.knows(dto.code) for dto in dtos if dto.code != "-"):
            codes = await self._code_list(refresh=True)  # a code added since we cached the list
        school = self.config.school_id
        records = [mark for dto in dtos if (mark := to_mark(dto, school, codes)) is not None]
        return _page(records, state, body, windows=len(windows))

    def _mark_windows(self) -> list[tuple[dt.date, dt.date]]:
        today = dt.datetime.now(dt.UTC).date()
        end = self.config.attendance_to or today
        start = self.config.attendance_from or academic_year_start(end)
        return date_windows(start, end) or [(start, start)]

    async def _code_list(self, *, refresh: bool = False) -> CodeList:
        if self._codes is None or refresh:
            body = await self.client.get(self._codes_path, {})
            self._codes = CodeList(parse_dtos(SimsCodeDto, body.get("value")))
        return self._codes

    # --- writes -------------------------------------------------------------------------------

    async def write_marks(
        self, batch: Sequence[AttendanceMark], idempotency_key: str
    ) -> WriteResult:
        """Write marks back; every record gets an outcome (SIMS validates each one).

        Records this connection cannot write (another setting, a code the school's list
        lacks) are rejected here with the reason; the rest go to SIMS in requests of at most
        1,000, each with its own idempotency key derived from `idempotency_key`.
        """
        codes = await self._code_list()
        outcomes: list[RecordOutcome] = []
        sendable: list[tuple[int, dict[str, object]]] = []
        for index, mark in enumerate(batch):
            if mark.setting_id != self.config.school_id:
                outcomes.append(
                    RecordOutcome(index, False, "the mark is for another setting than this school")
                )
                continue
            local = codes.to_local(mark.code)
            if local is None:
                outcomes.append(
                    RecordOutcome(
                        index, False, "the school's SIMS code list cannot record this code"
                    )
                )
                continue
            sendable.append(
                (
                    index,
                    {
                        "UPN": mark.upn,
                        "AttendanceDate": mark.date.isoformat(),
                        "SessionName": mark.session.value,
                        "AttendanceMark": local,
                        "MinsLate": mark.minutes_late,
                    },
                )
            )
        for number, start in enumerate(range(0, len(sendable), MAX_WRITE_BATCH)):
            chunk = sendable[start : start + MAX_WRITE_BATCH]
            body = await self.client.post(
                self._marks_path,
                {"SessionAttendances": [record for _, record in chunk]},
                headers={"Idempotency-Key": f"{idempotency_key}:{number}"},
            )
            outcomes.extend(_write_outcomes(body, [index for index, _ in chunk]))
        result = WriteResult(outcomes)
        log.info(
            "sims_marks_written",
            records=len(batch),
            accepted=len(result.accepted),
            rejected=len(result.rejected),
        )
        return result

    # --- pushes -------------------------------------------------------------------------------

    async def handle_webhook(self, headers: Mapping[str, str], body: bytes) -> Page[WebhookRecord]:
        """A push of session marks (assumed shape, see README): ``{"SchoolID": ...,
        "SessionAttendances": [...]}`` signed with HMAC-SHA256 in ``X-Sims-Signature``."""
        secret = self.config.webhook_secret
        if secret is None:
            raise ConfigError("this SIMS connection has no webhook_secret to verify pushes")
        signature = headers.get(SIGNATURE_HEADER)
        if not verify_hmac_sha256(secret.get_secret_value().encode(), body, signature):
            raise AuthError("SIMS push signature missing or invalid")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ContractViolation("SIMS push body is not JSON") from None
        if not isinstance(payload, dict):
            raise ContractViolation("SIMS push body is not a JSON object")
        if payload.get("SchoolID") != self.config.school_id:
            raise PermanentError("SIMS push is for another school than this connection's")
        dtos = parse_dtos(SimsMarkDto, payload.get("SessionAttendances"))
        codes = await self._code_list()
        school = self.config.school_id
        records: list[WebhookRecord] = [
            mark for dto in dtos if (mark := to_mark(dto, school, codes)) is not None
        ]
        return Page(records)


def _listing_params(state: _Cursor) -> dict[str, str | int | float]:
    params: dict[str, str | int | float] = {}
    if state.since is not None:
        params["modifiedSince"] = state.since
    if state.skip is not None:
        params["$skiptoken"] = state.skip
    return params


def _page(records: list[T], state: _Cursor, body: Mapping[str, Any], *, windows: int) -> Page[T]:
    as_of = state.as_of
    if as_of is None:
        # The run's first page fixes its high-water mark (the signpost).
        reported = body.get("@sims.asOf")
        if not isinstance(reported, str) or not reported:
            raise ContractViolation("SIMS listing response has no @sims.asOf change clock")
        as_of = reported
    skip = _skiptoken(body.get("@odata.nextLink"))
    if skip is not None:
        following = _Cursor(state.since, as_of, state.window, skip)
        return Page(records, following.dump(), has_more=True)
    if state.window + 1 < windows:
        following = _Cursor(state.since, as_of, state.window + 1, None)
        return Page(records, following.dump(), has_more=True)
    return Page(records, _Cursor(since=as_of).dump(), has_more=False)


def _skiptoken(next_link: object) -> str | None:
    if next_link is None:
        return None
    if not isinstance(next_link, str):
        raise ContractViolation("SIMS @odata.nextLink is not a string")
    tokens = parse_qs(urlsplit(next_link).query).get("$skiptoken")
    if not tokens or not tokens[0]:
        raise ContractViolation("SIMS @odata.nextLink carries no $skiptoken")
    return tokens[0]


def _write_outcomes(body: Mapping[str, Any], indexes: Sequence[int]) -> list[RecordOutcome]:
    """SIMS's per-record results → outcomes at the batch positions; a record SIMS said
    nothing about is rejected with that reason rather than assumed written."""
    results = body.get("results")
    if not isinstance(results, list):
        raise ContractViolation("SIMS write response has no results list")
    by_position: dict[int, RecordOutcome] = {}
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("index"), int):
            raise ContractViolation("SIMS write result without a record index")
        position = result["index"]
        if not 0 <= position < len(indexes):
            raise ContractViolation("SIMS write result for a record that was not sent")
        index = indexes[position]
        if result.get("status") == "Accepted":
            ref = result.get("AttendanceID")
            by_position[position] = RecordOutcome(
                index, True, external_ref=str(ref) if ref is not None else None
            )
        else:
            errors = result.get("errors")
            reasons = [e for e in errors if isinstance(e, str)] if isinstance(errors, list) else []
            by_position[position] = RecordOutcome(
                index, False, "; ".join(reasons) or "SIMS rejected the record without a reason"
            )
    return [
        by_position.get(position, RecordOutcome(index, False, "SIMS returned no outcome for it"))
        for position, index in enumerate(indexes)
    ]
