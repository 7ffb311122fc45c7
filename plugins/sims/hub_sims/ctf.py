"""Common Transfer File (CTF) XML: import a leaver's CTF, export one for the CME / lost-pupil route.

A CTF is the pupil-level XML that MIS systems exchange when a pupil moves school (DfE CTF
specifications 15-21; CTF 17 added the CME transfer, CTF 18 "grounds for removal"). When the
destination is unknown the file goes to the LA / lost-pupil database with a destination of
``MMM`` / ``MMMM``. The full specification is large; this module reads and writes the subset
the hub needs, in this shape (validated by `validate_ctf` on the way in and on the way out)::

    CTfile
      Header
        DocumentName        "Common Transfer File"
        CTFversion          e.g. "21.0"
        DateTime            YYYY-MM-DDThh:mm:ss (UTC)
        DocumentQualifier   "full" | "partial"
        SupplierID          free text
        SourceSchool        LEA (3 digits), Estab (4 digits), SchoolName, AcademicYear (YYYY)
        DestSchool          LEA (3 digits or MMM), Estab (4 digits or MMMM)
      CTFpupilData
        Pupil (one or more)
          UPN, Surname, Forename, DOB (YYYY-MM-DD)
          SchoolHistory
            School (one or more): LEA, Estab, SchoolName?, EntryDate, LeavingDate?,
                                  EnrolStatus? (C | M | S), LeavingReason?, GroundsForRemoval?
          Attendance? (YearData, zero or more)
            YearData: Year, LEA, Estab, AttendSessions
              AttendSessions: AttendanceStartDate, AttendanceMarks

``AttendanceMarks`` holds one character per session, AM then PM, for every calendar day from
``AttendanceStartDate``; ``-`` is a session with no mark (weekends, holidays, before entry).
Codes of two characters (England 2024: C1, C2, J1, Y1-Y7) do not fit a one-character string:
they are written as the code they were split from in 2024 (C, J, Y), which loses the detail.
``GroundsForRemoval`` carries the hub's ground id (``wales-2010:8(1)(d)``); the DfE element's
own vocabulary is not public in machine-readable form. A school is named by LEA + Estab, which
is the hub setting id for maintained schools (``6799999`` = LEA 679, Estab 9999).

Parsing uses `xml.etree` and refuses documents with a DTD (no entity expansion), never fetches
anything.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from hub_contracts import (
    AttendanceMark,
    Learner,
    Registration,
    RegistrationStatus,
    Session,
    UpnError,
    describe_validation_error,
    validate_upn,
)

__all__ = [
    "CTF_VERSION",
    "LOST_PUPIL",
    "CtfError",
    "CtfPupil",
    "CtfSchool",
    "export_ctf",
    "import_ctf",
    "validate_ctf",
]

CTF_VERSION = "21.0"
M = TypeVar("M", bound=BaseModel)
NO_MARK = "-"
_LEA = re.compile(r"^(?:[0-9]{3}|MMM)$")
_ESTAB = re.compile(r"^(?:[0-9]{4}|MMMM)$")
_MARKS = re.compile(r"^[A-Z/\\#-]*$")
_STATUS = {
    "C": RegistrationStatus.SINGLE,
    "M": RegistrationStatus.MAIN,
    "S": RegistrationStatus.SUBSIDIARY,
}
_STATUS_CODE = {status: code for code, status in _STATUS.items()}


class CtfError(ValueError):
    """The document is not a CTF of the documented shape; the message gives the element path
    and the rule, never the value (it may be pupil data)."""


@dataclass(frozen=True)
class CtfSchool:
    lea: str
    estab: str
    name: str | None = None

    @classmethod
    def from_setting_id(cls, setting_id: str, name: str | None = None) -> CtfSchool:
        """A setting id of 7 digits (LEA + Estab), as the DfE and Welsh numbers are."""
        if not re.fullmatch(r"[0-9]{7}", setting_id):
            raise CtfError(f"setting id {setting_id!r} is not a 7-digit LEA + Estab number")
        return cls(setting_id[:3], setting_id[3:], name)

    @property
    def setting_id(self) -> str:
        return self.lea + self.estab


#: The destination of a CTF whose pupil's next school is unknown (lost pupil / CME route).
LOST_PUPIL = CtfSchool("MMM", "MMMM")


@dataclass(frozen=True)
class CtfPupil:
    """One pupil of an imported CTF, as hub contracts."""

    learner: Learner
    registrations: tuple[Registration, ...]
    marks: tuple[AttendanceMark, ...]


# --- validation ------------------------------------------------------------------------------


def _text(parent: ET.Element, tag: str, path: str, *, required: bool = True) -> str | None:
    node = parent.find(tag)
    if node is None or node.text is None or not node.text.strip():
        if required:
            raise CtfError(f"{path}/{tag}: required element missing or empty")
        return None
    return node.text.strip()


def _need(parent: ET.Element, tag: str, path: str) -> str:
    value = _text(parent, tag, path)
    assert value is not None
    return value


def _date(value: str | None, path: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CtfError(f"{path}: not a date (YYYY-MM-DD)") from None


def _school(node: ET.Element, path: str) -> CtfSchool:
    lea, estab = _need(node, "LEA", path), _need(node, "Estab", path)
    if not _LEA.match(lea):
        raise CtfError(f"{path}/LEA: three digits (or MMM)")
    if not _ESTAB.match(estab):
        raise CtfError(f"{path}/Estab: four digits (or MMMM)")
    return CtfSchool(lea, estab, _text(node, "SchoolName", path, required=False))


def validate_ctf(root: ET.Element) -> None:
    """Raise `CtfError` unless `root` has the documented shape (see the module docstring)."""
    if root.tag != "CTfile":
        raise CtfError("/: the root element must be CTfile")
    header = root.find("Header")
    if header is None:
        raise CtfError("/CTfile/Header: required element missing")
    hpath = "/CTfile/Header"
    if _need(header, "DocumentName", hpath) != "Common Transfer File":
        raise CtfError(f"{hpath}/DocumentName: must be 'Common Transfer File'")
    _need(header, "CTFversion", hpath)
    try:
        dt.datetime.fromisoformat(_need(header, "DateTime", hpath))
    except ValueError:
        raise CtfError(f"{hpath}/DateTime: not YYYY-MM-DDThh:mm:ss") from None
    if _need(header, "DocumentQualifier", hpath) not in ("full", "partial"):
        raise CtfError(f"{hpath}/DocumentQualifier: 'full' or 'partial'")
    for tag in ("SourceSchool", "DestSchool"):
        node = header.find(tag)
        if node is None:
            raise CtfError(f"{hpath}/{tag}: required element missing")
        _school(node, f"{hpath}/{tag}")
    source = header.find("SourceSchool")
    year = _need(source, "AcademicYear", f"{hpath}/SourceSchool") if source is not None else ""
    if not re.fullmatch(r"[0-9]{4}", year):
        raise CtfError(f"{hpath}/SourceSchool/AcademicYear: four digits")
    pupils = root.findall("CTFpupilData/Pupil")
    if not pupils:
        raise CtfError("/CTfile/CTFpupilData/Pupil: at least one pupil")
    for number, pupil in enumerate(pupils, start=1):
        _validate_pupil(pupil, f"/CTfile/CTFpupilData/Pupil[{number}]")


def _validate_pupil(pupil: ET.Element, path: str) -> None:
    try:
        validate_upn(_need(pupil, "UPN", path))
    except UpnError as exc:
        raise CtfError(f"{path}/UPN: {exc}") from None
    _need(pupil, "Surname", path)
    _need(pupil, "Forename", path)
    _date(_need(pupil, "DOB", path), f"{path}/DOB")
    schools = pupil.findall("SchoolHistory/School")
    if not schools:
        raise CtfError(f"{path}/SchoolHistory/School: at least one school")
    for n, school in enumerate(schools, start=1):
        spath = f"{path}/SchoolHistory/School[{n}]"
        _school(school, spath)
        _date(_need(school, "EntryDate", spath), f"{spath}/EntryDate")
        _date(_text(school, "LeavingDate", spath, required=False), f"{spath}/LeavingDate")
        status = _text(school, "EnrolStatus", spath, required=False)
        if status is not None and status not in _STATUS:
            raise CtfError(f"{spath}/EnrolStatus: C, M or S")
    for n, year in enumerate(pupil.findall("Attendance/YearData"), start=1):
        ypath = f"{path}/Attendance/YearData[{n}]"
        if not re.fullmatch(r"[0-9]{4}", _need(year, "Year", ypath)):
            raise CtfError(f"{ypath}/Year: four digits")
        _school(year, ypath)
        sessions = year.find("AttendSessions")
        if sessions is None:
            raise CtfError(f"{ypath}/AttendSessions: required element missing")
        spath = f"{ypath}/AttendSessions"
        _date(_need(sessions, "AttendanceStartDate", spath), f"{spath}/AttendanceStartDate")
        marks = _need(sessions, "AttendanceMarks", spath)
        if not _MARKS.match(marks) or len(marks) % 2:
            raise CtfError(f"{spath}/AttendanceMarks: one code character per session, two a day")


# --- import ----------------------------------------------------------------------------------


def parse_ctf(data: bytes) -> ET.Element:
    """The document's root, validated. DTDs are refused (no entity expansion)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise CtfError("/: a CTF must not contain a DTD or entity declarations")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise CtfError(f"/: not well-formed XML (line {exc.position[0]})") from None
    validate_ctf(root)
    return root


def _contract(model: type[M], path: str, **fields: object) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        first = str(problems[0]) if problems else "invalid"
        raise CtfError(f"{path}: {first}") from None


def import_ctf(data: bytes, *, source: str = "ctf") -> list[CtfPupil]:
    """The pupils of a CTF as contracts: learner, registrations (with the ground for
    removal of a leaver), and every session mark (``recorded_at`` is the file's DateTime)."""
    root = parse_ctf(data)
    header = root.find("Header")
    assert header is not None  # validate_ctf checked it
    stamp = dt.datetime.fromisoformat(_need(header, "DateTime", "/CTfile/Header"))
    recorded_at = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    pupils = []
    for number, node in enumerate(root.findall("CTFpupilData/Pupil"), start=1):
        path = f"/CTfile/CTFpupilData/Pupil[{number}]"
        upn = _need(node, "UPN", path)
        learner = _contract(
            Learner,
            path,
            upn=upn,
            given_name=_need(node, "Forename", path),
            family_name=_need(node, "Surname", path),
            date_of_birth=_date(_need(node, "DOB", path), path),
        )
        registrations = []
        for n, school in enumerate(node.findall("SchoolHistory/School"), start=1):
            spath = f"{path}/SchoolHistory/School[{n}]"
            registrations.append(
                _contract(
                    Registration,
                    spath,
                    upn=upn,
                    setting_id=_school(school, spath).setting_id,
                    status=_STATUS[_text(school, "EnrolStatus", spath, required=False) or "C"],
                    start_date=_date(_need(school, "EntryDate", spath), spath),
                    end_date=_date(_text(school, "LeavingDate", spath, required=False), spath),
                    deletion_ground=_text(school, "GroundsForRemoval", spath, required=False),
                )
            )
        marks = []
        for n, year in enumerate(node.findall("Attendance/YearData"), start=1):
            ypath = f"{path}/Attendance/YearData[{n}]"
            setting = _school(year, ypath).setting_id
            sessions = year.find("AttendSessions")
            assert sessions is not None
            start = _date(_need(sessions, "AttendanceStartDate", ypath), ypath)
            assert start is not None
            string = _need(sessions, "AttendanceMarks", ypath)
            for offset, code in enumerate(string):
                if code == NO_MARK:
                    continue
                marks.append(
                    _contract(
                        AttendanceMark,
                        f"{ypath}/AttendSessions/AttendanceMarks[{offset + 1}]",
                        upn=upn,
                        setting_id=setting,
                        date=start + dt.timedelta(days=offset // 2),
                        session=Session.AM if offset % 2 == 0 else Session.PM,
                        code=code,
                        source=source,
                        recorded_at=recorded_at,
                    )
                )
        pupils.append(CtfPupil(learner, tuple(registrations), tuple(marks)))
    return pupils


# --- export ----------------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, tag)
    if text is not None:
        node.text = text
    return node


def _school_elements(parent: ET.Element, school: CtfSchool) -> None:
    _sub(parent, "LEA", school.lea)
    _sub(parent, "Estab", school.estab)
    if school.name:
        _sub(parent, "SchoolName", school.name)


def academic_year(day: dt.date) -> int:
    """The year the academic year containing `day` starts in (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


def marks_string(marks: Sequence[AttendanceMark]) -> tuple[dt.date, str]:
    """The first date and the one-character-per-session string of `marks` (one setting)."""
    latest = {(m.date, m.session): m for m in sorted(marks, key=lambda m: m.recorded_at)}
    start = min(day for day, _ in latest)
    end = max(day for day, _ in latest)
    chars = []
    day = start
    while day <= end:
        for session in (Session.AM, Session.PM):
            mark = latest.get((day, session))
            chars.append(mark.code[0] if mark is not None else NO_MARK)
        day += dt.timedelta(days=1)
    return start, "".join(chars)


def _year_key(mark: AttendanceMark) -> tuple[str, int]:
    return mark.setting_id, academic_year(mark.date)


def export_ctf(
    *,
    learner: Learner,
    registration: Registration,
    marks: Sequence[AttendanceMark],
    source: CtfSchool,
    generated_at: dt.datetime,
    destination: CtfSchool = LOST_PUPIL,
    leaving_reason: str | None = None,
    supplier_id: str = "attendance-hub",
) -> bytes:
    """A leaver's CTF (UTF-8 XML), validated against the documented shape before it is
    returned. With no `destination`, it is addressed to the lost-pupil / CME route
    (``MMM``/``MMMM``). `marks` may span settings (one ``YearData`` per setting and year)."""
    if learner.upn != registration.upn or any(m.upn != learner.upn for m in marks):
        raise CtfError("the learner, registration and marks must be the same pupil")
    root = ET.Element("CTfile")
    header = _sub(root, "Header")
    _sub(header, "DocumentName", "Common Transfer File")
    _sub(header, "CTFversion", CTF_VERSION)
    stamp = generated_at.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    _sub(header, "DateTime", stamp.isoformat())
    _sub(header, "DocumentQualifier", "partial")
    _sub(header, "SupplierID", supplier_id)
    source_node = _sub(header, "SourceSchool")
    _school_elements(source_node, source)
    _sub(source_node, "AcademicYear", str(academic_year(generated_at.date())))
    _school_elements(_sub(header, "DestSchool"), destination)

    pupil = _sub(_sub(root, "CTFpupilData"), "Pupil")
    _sub(pupil, "UPN", learner.upn)
    _sub(pupil, "Surname", learner.family_name)
    _sub(pupil, "Forename", learner.given_name)
    _sub(pupil, "DOB", learner.date_of_birth.isoformat())
    school = _sub(_sub(pupil, "SchoolHistory"), "School")
    _school_elements(school, CtfSchool.from_setting_id(registration.setting_id, source.name))
    _sub(school, "EntryDate", registration.start_date.isoformat())
    if registration.end_date is not None:
        _sub(school, "LeavingDate", registration.end_date.isoformat())
    _sub(school, "EnrolStatus", _STATUS_CODE[registration.status])
    if leaving_reason:
        _sub(school, "LeavingReason", leaving_reason)
    if registration.deletion_ground:
        _sub(school, "GroundsForRemoval", registration.deletion_ground)
    if marks:
        attendance = _sub(pupil, "Attendance")
        for (setting_id, year), group in groupby(sorted(marks, key=_year_key), key=_year_key):
            year_node = _sub(attendance, "YearData")
            _sub(year_node, "Year", str(year))
            _school_elements(year_node, CtfSchool.from_setting_id(setting_id))
            start, string = marks_string(list(group))
            sessions = _sub(year_node, "AttendSessions")
            _sub(sessions, "AttendanceStartDate", start.isoformat())
            _sub(sessions, "AttendanceMarks", string)
    validate_ctf(root)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
