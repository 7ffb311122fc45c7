"""The SIMS emulator's state: one school's learners, roll, marks, code list and credentials.

`EmulatorState` is plain data with seed helpers (`add_learner`, `add_enrolment`, `add_mark`,
`add_code`) and the per-record write validation; `hub_sims.emulator` serves it over HTTP.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hub_contracts import make_upn

__all__ = [
    "EmulatorState",
    "SimsCode",
    "SimsEnrolment",
    "SimsLearner",
    "SimsMark",
    "Written",
    "seed_synthetic_school",
    "utc_text",
]

PAGE_SIZE = 1000

# Synthetic credentials of a standalone emulator (never real ones).
DEFAULT_SCHOOL_ID = "6799999"
DEFAULT_CLIENT_ID = "synthetic-client"
DEFAULT_CLIENT_SECRET = "synthetic-client-secret"
DEFAULT_SUBSCRIPTION_KEY = "synthetic-subscription-key"

# A school's code list: statutory codes as themselves, plus local codes mapped through
# Statutory_Return_Code (ESS: COVID codes 7/8/9 were returned as I/Y/Y in CTF and B2B).
# The statutory codes of the Welsh 2010 and English 2006 / 2024 code sets.
_STATUTORY = (
    *("/", "\\", "#", "B", "C", "C1", "C2", "D", "E", "F", "G", "H", "I", "J", "J1", "K"),
    *("L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z"),
    *("Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"),
)
_LOCAL = (("7", "I"), ("8", "Y"), ("9", "Y"))


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class SimsLearner:
    person_id: int
    upn: str
    forename: str
    surname: str
    date_of_birth: dt.date
    address: str | None = None
    in_care: bool = False
    child_protection_plan: bool = False
    last_updated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def as_json(self) -> dict[str, Any]:
        return {
            "PersonID": self.person_id,
            "UPN": self.upn,
            "LegalForename": self.forename,
            "LegalSurname": self.surname,
            "DateOfBirth": self.date_of_birth.isoformat(),
            "Address": self.address,
            "InCare": self.in_care,
            "ChildProtectionPlan": self.child_protection_plan,
            "LastUpdated": utc_text(self.last_updated),
        }


@dataclass
class SimsEnrolment:
    enrolment_id: int
    person_id: int
    upn: str
    #: CTF enrolment status: C single, M main (dual), S subsidiary (dual), G guest.
    enrol_status: str
    entry_date: dt.date
    leaving_date: dt.date | None = None
    deletion_ground: str | None = None
    last_updated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def as_json(self) -> dict[str, Any]:
        return {
            "EnrolmentID": self.enrolment_id,
            "PersonID": self.person_id,
            "UPN": self.upn,
            "EnrolStatus": self.enrol_status,
            "EntryDate": self.entry_date.isoformat(),
            "LeavingDate": self.leaving_date.isoformat() if self.leaving_date else None,
            "DeletionGround": self.deletion_ground,
            "LastUpdated": utc_text(self.last_updated),
        }

    def on_roll(self, day: dt.date) -> bool:
        return self.entry_date <= day and (self.leaving_date is None or day <= self.leaving_date)


@dataclass
class SimsMark:
    attendance_id: int
    person_id: int
    upn: str
    date: dt.date
    session: str
    code: str
    mins_late: int | None = None
    comments: str | None = None
    last_updated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def as_json(self) -> dict[str, Any]:
        return {
            "AttendanceID": self.attendance_id,
            "PersonID": self.person_id,
            "UPN": self.upn,
            "AttendanceDate": self.date.isoformat(),
            "SessionName": self.session,
            "AttendanceMark": self.code,
            "MinsLate": self.mins_late,
            "Comments": self.comments,
            "LastUpdated": utc_text(self.last_updated),
        }


@dataclass(frozen=True)
class SimsCode:
    code_id: int
    display_code: str
    statutory_code: str
    restricted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "Attendance_Code_ID": self.code_id,
            "SIMS_Display_Code": self.display_code,
            "Physical_Mapping_Description": "",
            "Statistical_Mapping_Description": "",
            "Is_Restricted": self.restricted,
            "Statutory_Return_Code": self.statutory_code,
        }


@dataclass
class Written:
    body_hash: str
    response: dict[str, Any]


MarkRow = tuple[dt.datetime, int, SimsMark]
_WINDOWS_KEPT = 8


class EmulatorState:
    """One school's SIMS: credentials, learners, roll, marks, code list, issued tokens."""

    def __init__(
        self,
        *,
        school_id: str = DEFAULT_SCHOOL_ID,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        subscription_key: str = DEFAULT_SUBSCRIPTION_KEY,
        token_ttl: float = 300.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.school_id = school_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.subscription_key = subscription_key
        self.token_ttl = token_ttl
        self.page_size = page_size
        self.clear()

    def clear(self) -> None:
        """Back to an empty school with the default code list (credentials kept)."""
        self.learners: dict[int, SimsLearner] = {}
        self.enrolments: dict[int, SimsEnrolment] = {}
        self.marks: dict[tuple[int, dt.date, str], SimsMark] = {}
        self.codes: dict[str, SimsCode] = {}
        self.tokens: dict[str, float] = {}
        self.writes: dict[str, Written] = {}
        self.applied_writes = 0
        self.requests = 0
        self._ids = 0
        self._last_change = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        self._windows: dict[tuple[dt.date, dt.date], tuple[Any, list[MarkRow]]] = {}
        for code in _STATUTORY:
            self.add_code(code, code)
        for local, statutory in _LOCAL:
            self.add_code(local, statutory)

    # --- seed helpers ---------------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def tick(self) -> dt.datetime:
        """The next change time: now, but always after the previous change (strictly)."""
        now = dt.datetime.now(dt.UTC)
        self._last_change = max(now, self._last_change + dt.timedelta(microseconds=1))
        return self._last_change

    @property
    def as_of(self) -> dt.datetime:
        return self._last_change

    def marks_between(self, start: dt.date, end: dt.date) -> list[MarkRow]:
        """The marks of sessions from `start` to `end` as ``(LastUpdated, AttendanceID, mark)``,
        in that order: the listing's order, so a page is found by bisection.

        Kept per date window until the next change (every change takes a `tick`, and replacing
        the whole ``marks`` dict changes its identity), so paging through a window of a big
        school sorts it once rather than once a page.
        """
        version = (id(self.marks), len(self.marks), self._last_change)
        cached = self._windows.get((start, end))
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = sorted(
            (m.last_updated, m.attendance_id, m)
            for m in self.marks.values()
            if start <= m.date <= end
        )
        if len(self._windows) >= _WINDOWS_KEPT:
            self._windows.pop(next(iter(self._windows)))
        self._windows[(start, end)] = (version, rows)
        return rows

    def add_code(self, display: str, statutory: str, *, restricted: bool = False) -> SimsCode:
        code = SimsCode(self._next_id(), display, statutory, restricted)
        self.codes[display] = code
        return code

    def add_learner(
        self,
        upn: str,
        forename: str,
        surname: str,
        date_of_birth: dt.date,
        *,
        address: str | None = None,
        in_care: bool = False,
        child_protection_plan: bool = False,
    ) -> SimsLearner:
        existing = self.learner_by_upn(upn)
        learner = SimsLearner(
            existing.person_id if existing else self._next_id(),
            upn,
            forename,
            surname,
            date_of_birth,
            address,
            in_care,
            child_protection_plan,
            self.tick(),
        )
        self.learners[learner.person_id] = learner
        return learner

    def learner_by_upn(self, upn: str) -> SimsLearner | None:
        for learner in self.learners.values():
            if learner.upn == upn:
                return learner
        return None

    def _require_learner(self, upn: str) -> SimsLearner:
        learner = self.learner_by_upn(upn)
        if learner is None:
            raise KeyError(f"no learner with that UPN; add_learner first ({upn[:1]}…)")
        return learner

    def add_enrolment(
        self,
        upn: str,
        entry_date: dt.date,
        *,
        enrol_status: str = "C",
        leaving_date: dt.date | None = None,
        deletion_ground: str | None = None,
    ) -> SimsEnrolment:
        learner = self._require_learner(upn)
        for enrolment in self.enrolments.values():
            if enrolment.person_id == learner.person_id and enrolment.entry_date == entry_date:
                enrolment_id = enrolment.enrolment_id
                break
        else:
            enrolment_id = self._next_id()
        enrolment = SimsEnrolment(
            enrolment_id,
            learner.person_id,
            upn,
            enrol_status,
            entry_date,
            leaving_date,
            deletion_ground,
            self.tick(),
        )
        self.enrolments[enrolment_id] = enrolment
        return enrolment

    def add_mark(
        self,
        upn: str,
        date: dt.date,
        session: str,
        code: str,
        *,
        mins_late: int | None = None,
        comments: str | None = None,
    ) -> SimsMark:
        """Record (or amend) the mark of one session; an amendment keeps the AttendanceID."""
        learner = self._require_learner(upn)
        cell = (learner.person_id, date, session)
        existing = self.marks.get(cell)
        mark = SimsMark(
            existing.attendance_id if existing else self._next_id(),
            learner.person_id,
            upn,
            date,
            session,
            code,
            mins_late,
            comments,
            self.tick(),
        )
        self.marks[cell] = mark
        return mark

    # --- tokens -----------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_ttl
        return token

    def token_valid(self, token: str) -> bool:
        expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_tokens(self) -> None:
        """Make every issued token expired (tests of the refresh-on-401 path)."""
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    # --- writes -----------------------------------------------------------------------------

    def validate_and_apply(self, record: object) -> dict[str, Any]:
        """One record of a write batch: committed, or rejected with the reasons."""
        errors: list[str] = []
        if not isinstance(record, dict):
            return {"status": "Rejected", "errors": ["the record is not an object"]}
        upn, code, session = (
            record.get("UPN"),
            record.get("AttendanceMark"),
            record.get("SessionName"),
        )
        learner = self.learner_by_upn(upn) if isinstance(upn, str) else None
        if learner is None:
            errors.append("UPN: no learner with this UPN at the school")
        try:
            day = dt.date.fromisoformat(str(record.get("AttendanceDate")))
        except ValueError:
            errors.append("AttendanceDate: not a date (YYYY-MM-DD)")
            day = None
        if session not in ("AM", "PM"):
            errors.append("SessionName: must be AM or PM")
        known = self.codes.get(code) if isinstance(code, str) else None
        if known is None:
            errors.append("AttendanceMark: not in the school's attendance code list")
        elif known.restricted:
            errors.append("AttendanceMark: a restricted code cannot be written by a partner")
        mins_late = record.get("MinsLate")
        if mins_late is not None and (not isinstance(mins_late, int) or not 0 <= mins_late <= 300):
            errors.append("MinsLate: must be a whole number of minutes from 0 to 300")
        if learner is not None and day is not None:
            rolls = [e for e in self.enrolments.values() if e.person_id == learner.person_id]
            if rolls and not any(e.on_roll(day) and e.enrol_status != "G" for e in rolls):
                errors.append("AttendanceDate: the learner is not on roll on this date")
        if errors or learner is None or day is None or not isinstance(code, str):
            return {"status": "Rejected", "errors": errors}
        comments = record.get("Comments")
        mark = self.add_mark(
            learner.upn,
            day,
            str(session),
            code,
            mins_late=mins_late if isinstance(mins_late, int) else None,
            comments=comments if isinstance(comments, str) else None,
        )
        return {"status": "Accepted", "AttendanceID": mark.attendance_id}


def seed_synthetic_school(
    state: EmulatorState,
    *,
    learners: int,
    days: Sequence[dt.date] = (),
    first_serial: int = 1,
    code: str = "/",
) -> list[SimsLearner]:
    """`learners` synthetic learners on roll (UPNs from `hub_contracts.make_upn`), each with
    an AM and a PM mark for every day in `days`."""
    made = []
    for n in range(first_serial, first_serial + learners):
        upn = make_upn(f"99999992{n:04d}")
        learner = state.add_learner(
            upn, f"Synthforename{n:04d}", f"Synthsurname{n:04d}", dt.date(2015, 1, 1)
        )
        state.add_enrolment(upn, dt.date(2020, 9, 1))
        made.append(learner)
        for day in days:
            for session in ("AM", "PM"):
                state.add_mark(upn, day, session, code)
    return made
