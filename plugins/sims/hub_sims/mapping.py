"""SIMS records (vendor DTOs) → hub contracts, and the school's local code list.

Vendor records are validated with pydantic models named after the SIMS fields; a record that
does not fit (a bad UPN, a missing date, a local code the school's code list does not know)
raises `ContractViolation` naming the SIMS record id and the field, never its value: the
message reaches logs and operators, and the value may be pupil data. The page it arrived on is
refused as a whole, so the stream stops at that record (visible, never silently skipped) until
the school corrects it in SIMS.

Records that are not register data are skipped on purpose, each for a stated reason: guest
enrolments (``EnrolStatus`` G) are not on the admission register, and a session whose mark is
``-`` has no mark yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from hub.sdk import ContractViolation
from hub_contracts import (
    AttendanceMark,
    ContractModel,
    Learner,
    LearnerFlags,
    Registration,
    RegistrationStatus,
    Session,
    describe_validation_error,
)

__all__ = [
    "NO_MARK",
    "SOURCE",
    "CodeList",
    "SimsCodeDto",
    "SimsEnrolmentDto",
    "SimsLearnerDto",
    "SimsMarkDto",
    "parse_dtos",
    "to_learner",
    "to_mark",
    "to_registration",
]

#: `AttendanceMark.source` for marks read from SIMS.
SOURCE = "sims"
#: The mark SIMS shows for a session nobody has marked yet.
NO_MARK = "-"

#: CTF enrolment status → registration status (G, guest, is not on the admission register).
ENROL_STATUS: Mapping[str, RegistrationStatus] = {
    "C": RegistrationStatus.SINGLE,
    "M": RegistrationStatus.MAIN,
    "S": RegistrationStatus.SUBSIDIARY,
}


class _Dto(BaseModel):
    # Vendors add fields; only the ones below are read.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class SimsLearnerDto(_Dto):
    person_id: int = Field(alias="PersonID")
    upn: str = Field(alias="UPN")
    forename: str = Field(alias="LegalForename")
    surname: str = Field(alias="LegalSurname")
    date_of_birth: dt.date = Field(alias="DateOfBirth")
    address: str | None = Field(default=None, alias="Address")
    in_care: bool = Field(default=False, alias="InCare")
    child_protection_plan: bool = Field(default=False, alias="ChildProtectionPlan")
    last_updated: AwareDatetime = Field(alias="LastUpdated")


class SimsEnrolmentDto(_Dto):
    enrolment_id: int = Field(alias="EnrolmentID")
    upn: str = Field(alias="UPN")
    enrol_status: str = Field(alias="EnrolStatus")
    entry_date: dt.date = Field(alias="EntryDate")
    leaving_date: dt.date | None = Field(default=None, alias="LeavingDate")
    deletion_ground: str | None = Field(default=None, alias="DeletionGround")
    last_updated: AwareDatetime = Field(alias="LastUpdated")


class SimsMarkDto(_Dto):
    attendance_id: int = Field(alias="AttendanceID")
    upn: str = Field(alias="UPN")
    date: dt.date = Field(alias="AttendanceDate")
    session: str = Field(alias="SessionName")
    code: str = Field(alias="AttendanceMark")
    mins_late: int | None = Field(default=None, alias="MinsLate")
    last_updated: AwareDatetime = Field(alias="LastUpdated")


class SimsCodeDto(_Dto):
    code_id: int = Field(alias="Attendance_Code_ID")
    display_code: str = Field(alias="SIMS_Display_Code")
    statutory_code: str = Field(alias="Statutory_Return_Code")
    restricted: bool = Field(default=False, alias="Is_Restricted")


D = TypeVar("D", bound=_Dto)
C = TypeVar("C", bound=ContractModel)

_RECORD_IDS: Mapping[type[_Dto], tuple[str, str]] = {
    SimsLearnerDto: ("learner", "PersonID"),
    SimsEnrolmentDto: ("enrolment", "EnrolmentID"),
    SimsMarkDto: ("session attendance", "AttendanceID"),
    SimsCodeDto: ("attendance code", "Attendance_Code_ID"),
}


def _where(dto_type: type[_Dto], item: object) -> str:
    kind, id_field = _RECORD_IDS[dto_type]
    record_id = item.get(id_field) if isinstance(item, dict) else None
    shown = record_id if isinstance(record_id, int) else "?"
    return f"SIMS {kind} {id_field}={shown}"


def _first_problem(exc: ValidationError) -> str:
    # Field and reason only: pydantic's own str() quotes the input value (pupil data).
    problems = describe_validation_error(exc)
    if not problems:
        return "invalid"
    first = problems[0]
    return f"field {first.field!r}: {first.message}"


def parse_dtos(dto_type: type[D], items: object) -> list[D]:
    """Validate a ``value`` array of SIMS records; ContractViolation names the bad one."""
    if not isinstance(items, list):
        raise ContractViolation(f"SIMS returned {type(items).__name__} where a list was expected")
    parsed = []
    for item in items:
        try:
            parsed.append(dto_type.model_validate(item))
        except ValidationError as exc:
            raise ContractViolation(f"{_where(dto_type, item)}: {_first_problem(exc)}") from None
    return parsed


def _contract(model: type[C], where: str, **fields: Any) -> C:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise ContractViolation(f"{where}: {_first_problem(exc)}") from None


class CodeList:
    """A school's attendance codes: local display code → `Statutory_Return_Code`."""

    def __init__(self, codes: Iterable[SimsCodeDto]) -> None:
        self._by_display = {code.display_code: code for code in codes}

    def __len__(self) -> int:
        return len(self._by_display)

    def knows(self, local: str) -> bool:
        return local in self._by_display

    def to_statutory(self, local: str) -> str | None:
        code = self._by_display.get(local)
        return code.statutory_code if code is not None else None

    def to_local(self, statutory: str) -> str | None:
        """The code to write for a statutory code: itself when the school uses it, else an
        unrestricted local code returned as it; None when the school has neither."""
        same = self._by_display.get(statutory)
        if same is not None and not same.restricted and same.statutory_code == statutory:
            return statutory
        for code in self._by_display.values():
            if code.statutory_code == statutory and not code.restricted:
                return code.display_code
        return None


def to_learner(dto: SimsLearnerDto) -> Learner:
    return _contract(
        Learner,
        f"SIMS learner PersonID={dto.person_id}",
        upn=dto.upn,
        given_name=dto.forename,
        family_name=dto.surname,
        date_of_birth=dto.date_of_birth,
        address=dto.address or None,
        flags=LearnerFlags(
            looked_after=dto.in_care, child_protection_plan=dto.child_protection_plan
        ),
    )


def to_registration(dto: SimsEnrolmentDto, school_id: str) -> Registration | None:
    """None for a guest enrolment (not on the admission register)."""
    where = f"SIMS enrolment EnrolmentID={dto.enrolment_id}"
    if dto.enrol_status == "G":
        return None
    status = ENROL_STATUS.get(dto.enrol_status)
    if status is None:
        raise ContractViolation(f"{where}: field 'EnrolStatus': not one of C, M, S, G")
    return _contract(
        Registration,
        where,
        upn=dto.upn,
        setting_id=school_id,
        status=status,
        start_date=dto.entry_date,
        end_date=dto.leaving_date,
        deletion_ground=dto.deletion_ground or None,
    )


def to_mark(dto: SimsMarkDto, school_id: str, codes: CodeList) -> AttendanceMark | None:
    """The statutory mark for a SIMS session mark; None for ``-`` (not marked yet)."""
    where = f"SIMS session attendance AttendanceID={dto.attendance_id}"
    if dto.code == NO_MARK:
        return None
    statutory = codes.to_statutory(dto.code)
    if statutory is None:
        raise ContractViolation(
            f"{where}: field 'AttendanceMark': the school's code list has no such local code"
        )
    if dto.session not in (Session.AM, Session.PM):
        raise ContractViolation(f"{where}: field 'SessionName': must be AM or PM")
    return _contract(
        AttendanceMark,
        where,
        upn=dto.upn,
        setting_id=school_id,
        date=dto.date,
        session=Session(dto.session),
        code=statutory,
        minutes_late=dto.mins_late,
        source=SOURCE,
        source_ref=str(dto.attendance_id),
        recorded_at=dto.last_updated,
    )
