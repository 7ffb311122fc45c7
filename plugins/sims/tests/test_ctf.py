"""CTF XML: a leaver's file round-trips through export and import; malformed files are refused."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from hub_contracts import (
    AttendanceMark,
    Learner,
    Registration,
    RegistrationStatus,
    Session,
    make_upn,
)
from hub_sims.ctf import LOST_PUPIL, CtfError, CtfSchool, export_ctf, import_ctf, parse_ctf

UPN = make_upn("999999920042")
SCHOOL = CtfSchool.from_setting_id("6799999", "Ysgol Synthetig")
GENERATED = dt.datetime(2026, 2, 2, 10, 30, tzinfo=dt.UTC)

LEARNER = Learner(
    upn=UPN, given_name="Synthia", family_name="Testwood", date_of_birth=dt.date(2015, 4, 1)
)
LEAVER = Registration(
    upn=UPN,
    setting_id="6799999",
    status=RegistrationStatus.SINGLE,
    start_date=dt.date(2021, 9, 1),
    end_date=dt.date(2026, 1, 30),
    deletion_ground="wales-2010:8(1)(f)",
)


def mark(day: dt.date, session: Session, code: str) -> AttendanceMark:
    return AttendanceMark(
        upn=UPN,
        setting_id="6799999",
        date=day,
        session=session,
        code=code,
        source="hub",
        recorded_at=dt.datetime(2026, 1, 30, 16, tzinfo=dt.UTC),
    )


MARKS = [
    mark(dt.date(2026, 1, 26), Session.AM, "/"),
    mark(dt.date(2026, 1, 26), Session.PM, "\\"),
    mark(dt.date(2026, 1, 27), Session.AM, "N"),
    mark(dt.date(2026, 1, 29), Session.AM, "G"),  # 28th unmarked: "--"
    mark(dt.date(2026, 1, 29), Session.PM, "N"),
]


def test_a_leavers_ctf_round_trips() -> None:
    document = export_ctf(
        learner=LEARNER, registration=LEAVER, marks=MARKS, source=SCHOOL, generated_at=GENERATED
    )
    (pupil,) = import_ctf(document, source="ctf")
    assert pupil.learner == LEARNER
    assert pupil.registrations == (LEAVER,)
    assert {(m.date, m.session, m.code) for m in pupil.marks} == {
        (m.date, m.session, m.code) for m in MARKS
    }
    assert {m.recorded_at for m in pupil.marks} == {GENERATED.replace(tzinfo=dt.UTC)}


def test_the_attendance_string_has_one_character_per_session() -> None:
    root = parse_ctf(
        export_ctf(
            learner=LEARNER, registration=LEAVER, marks=MARKS, source=SCHOOL, generated_at=GENERATED
        )
    )
    sessions = root.find("CTFpupilData/Pupil/Attendance/YearData/AttendSessions")
    assert sessions is not None
    assert sessions.findtext("AttendanceStartDate") == "2026-01-26"
    assert sessions.findtext("AttendanceMarks") == "/\\N---GN"  # 27 PM and all of 28 unmarked


def test_a_ctf_with_no_known_destination_goes_to_the_lost_pupil_route() -> None:
    root = parse_ctf(
        export_ctf(
            learner=LEARNER, registration=LEAVER, marks=[], source=SCHOOL, generated_at=GENERATED
        )
    )
    assert (root.findtext("Header/DestSchool/LEA"), root.findtext("Header/DestSchool/Estab")) == (
        LOST_PUPIL.lea,
        LOST_PUPIL.estab,
    )
    assert root.findtext("CTFpupilData/Pupil/SchoolHistory/School/GroundsForRemoval") == (
        "wales-2010:8(1)(f)"
    )


def test_england_2024_two_character_codes_are_written_as_the_code_they_came_from() -> None:
    marks = [
        mark(dt.date(2026, 1, 26), Session.AM, "C2"),
        mark(dt.date(2026, 1, 26), Session.PM, "Y1"),
    ]
    (pupil,) = import_ctf(
        export_ctf(
            learner=LEARNER, registration=LEAVER, marks=marks, source=SCHOOL, generated_at=GENERATED
        )
    )
    assert [m.code for m in sorted(pupil.marks, key=lambda m: m.session)] == ["C", "Y"]


def valid_tree() -> ET.Element:
    return ET.fromstring(
        export_ctf(
            learner=LEARNER, registration=LEAVER, marks=MARKS, source=SCHOOL, generated_at=GENERATED
        )
    )


def drop(path: str) -> bytes:
    root = valid_tree()
    parent_path, _, tag = path.rpartition("/")
    parent = root.find(parent_path) if parent_path else root
    assert parent is not None
    node = parent.find(tag)
    assert node is not None
    parent.remove(node)
    return ET.tostring(root)


def replace(path: str, text: str) -> bytes:
    root = valid_tree()
    node = root.find(path)
    assert node is not None
    node.text = text
    return ET.tostring(root)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(b"<CTfile><Header>", "well-formed", id="not-xml"),
        pytest.param(b"<Other/>", "root element", id="wrong-root"),
        pytest.param(b'<!DOCTYPE x [<!ENTITY a "b">]><CTfile/>', "DTD", id="dtd-refused"),
        pytest.param(drop("CTFpupilData/Pupil/UPN"), "UPN: required", id="no-upn"),
        pytest.param(
            replace("CTFpupilData/Pupil/UPN", "A" + UPN[1:] if UPN[0] != "A" else "B" + UPN[1:]),
            "UPN: check letter",
            id="bad-check-letter",
        ),
        pytest.param(replace("Header/DestSchool/LEA", "12"), "DestSchool/LEA", id="bad-lea"),
        pytest.param(
            replace("CTFpupilData/Pupil/DOB", "01/04/2015"), "DOB: not a date", id="bad-dob"
        ),
        pytest.param(
            replace(
                "CTFpupilData/Pupil/Attendance/YearData/AttendSessions/AttendanceMarks", "/\\N"
            ),
            "AttendanceMarks",
            id="odd-mark-string",
        ),
        pytest.param(
            replace("CTFpupilData/Pupil/SchoolHistory/School/EnrolStatus", "G"),
            "EnrolStatus",
            id="guest-status",
        ),
    ],
)
def test_documents_outside_the_documented_shape_are_refused(document: bytes, message: str) -> None:
    with pytest.raises(CtfError, match=message) as caught:
        import_ctf(document)
    assert UPN[1:] not in str(caught.value)


def test_a_setting_id_that_is_not_lea_and_estab_cannot_be_exported() -> None:
    with pytest.raises(CtfError, match="7-digit"):
        CtfSchool.from_setting_id("PRU-12")
