"""The SIMS adapter against its emulator over loopback: windows, codes, writes, tokens, pushes."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import TYPE_CHECKING

import pytest

from hub.sdk import (
    AuthError,
    ConfigError,
    ContractViolation,
    Page,
    PermanentError,
    sign_hmac_sha256,
)
from hub_contracts import (
    AttendanceMark,
    Learner,
    Registration,
    RegistrationStatus,
    Session,
    make_upn,
)
from hub_sims.adapter import MAX_DAYS_PER_QUERY, SimsAdapter, academic_year_start, date_windows

if TYPE_CHECKING:
    from conftest import SimsRig

UPN_1 = make_upn("999999920001")
UPN_2 = make_upn("999999920002")
SCHOOL = "6799999"


async def read_everything(
    adapter: SimsAdapter, method: str, cursor: str | None = None
) -> tuple[list[object], str | None]:
    records: list[object] = []
    read = getattr(adapter, method)
    for _ in range(100):
        page: Page[object] = await read(cursor)
        records.extend(page.records)
        cursor = page.next_cursor
        if not page.has_more:
            return records, cursor
    raise AssertionError("the read never ended")


def seed_two_learners(rig: SimsRig) -> None:
    rig.state.add_learner(UPN_1, "Synthia", "Testwood", dt.date(2015, 4, 1))
    rig.state.add_learner(UPN_2, "Synthor", "Testfield", dt.date(2014, 9, 30))
    rig.state.add_enrolment(UPN_1, dt.date(2021, 9, 1))
    rig.state.add_enrolment(UPN_2, dt.date(2021, 9, 1), enrol_status="M")


# --- 90-day windows --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "windows"),
    [
        pytest.param(dt.date(2026, 1, 1), dt.date(2026, 1, 1), 1, id="one-day"),
        pytest.param(dt.date(2026, 1, 1), dt.date(2026, 3, 31), 1, id="exactly-90-days"),
        pytest.param(dt.date(2026, 1, 1), dt.date(2026, 4, 1), 2, id="91-days-splits"),
        pytest.param(dt.date(2025, 9, 1), dt.date(2026, 7, 31), 4, id="academic-year"),
        pytest.param(dt.date(2026, 1, 2), dt.date(2026, 1, 1), 0, id="empty-range"),
    ],
)
def test_date_windows_cover_the_range_in_spans_of_at_most_90_days(
    start: dt.date, end: dt.date, windows: int
) -> None:
    cut = date_windows(start, end)
    assert len(cut) == windows
    for first, last in cut:
        assert (last - first).days + 1 <= MAX_DAYS_PER_QUERY
    if cut:
        assert cut[0][0] == start and cut[-1][1] == end
        for (_, last), (first, _) in itertools.pairwise(cut):
            assert first == last + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (dt.date(2026, 8, 31), dt.date(2025, 9, 1)),
        (dt.date(2026, 9, 1), dt.date(2026, 9, 1)),
        (dt.date(2026, 1, 15), dt.date(2025, 9, 1)),
    ],
)
def test_default_range_starts_on_1_september(day: dt.date, start: dt.date) -> None:
    assert academic_year_start(day) == start


async def test_marks_across_a_year_are_read_in_90_day_queries(rig: SimsRig) -> None:
    seed_two_learners(rig)
    days = [dt.date(2025, 9, 3), dt.date(2025, 12, 15), dt.date(2026, 3, 2), dt.date(2026, 7, 20)]
    for day in days:
        rig.state.add_mark(UPN_1, day, "AM", "/")
    # The emulator answers 400 to any query over 90 days, which would raise PermanentError.
    marks, _ = await read_everything(rig.adapter(), "read_marks")
    assert sorted(m.date for m in marks if isinstance(m, AttendanceMark)) == days


async def test_the_emulator_refuses_more_than_90_days(rig: SimsRig) -> None:
    adapter = rig.adapter()
    params = {"startDate": "2026-01-01", "endDate": "2026-04-01"}
    with pytest.raises(PermanentError, match="DateRangeTooLarge"):
        await adapter.client.get(f"/Attendance/V3/Schools/{SCHOOL}/SessionAttendances", params)


# --- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "statutory"),
    [
        pytest.param("/", "/", id="statutory-as-itself"),
        pytest.param("7", "I", id="local-7-is-I"),
        pytest.param("8", "Y", id="local-8-is-Y"),
        pytest.param("L", "L", id="late"),
    ],
)
async def test_local_codes_are_read_as_their_statutory_return_code(
    rig: SimsRig, local: str, statutory: str
) -> None:
    seed_two_learners(rig)
    rig.state.add_mark(UPN_1, dt.date(2026, 1, 5), "PM", local, mins_late=10)
    (mark,), _ = await read_everything(rig.adapter(), "read_marks")
    assert isinstance(mark, AttendanceMark)
    assert (mark.code, mark.session, mark.setting_id, mark.source) == (
        statutory,
        Session.PM,
        SCHOOL,
        "sims",
    )
    assert mark.source_ref is not None and mark.minutes_late == 10


async def test_a_code_added_to_the_school_list_after_caching_is_still_mapped(rig: SimsRig) -> None:
    seed_two_learners(rig)
    adapter = rig.adapter()
    await adapter.check()  # caches the code list
    rig.state.add_code("AE", "B")
    rig.state.add_mark(UPN_1, dt.date(2026, 1, 5), "AM", "AE")
    (mark,), _ = await read_everything(adapter, "read_marks")
    assert isinstance(mark, AttendanceMark) and mark.code == "B"


async def test_an_unknown_local_code_is_a_contract_violation_naming_record_and_field(
    rig: SimsRig,
) -> None:
    seed_two_learners(rig)
    stray = rig.state.add_mark(UPN_1, dt.date(2026, 1, 5), "AM", "ZZ")
    with pytest.raises(ContractViolation) as caught:
        await read_everything(rig.adapter(), "read_marks")
    message = str(caught.value)
    assert f"AttendanceID={stray.attendance_id}" in message and "AttendanceMark" in message
    assert UPN_1 not in message


async def test_unmarked_sessions_are_not_register_entries(rig: SimsRig) -> None:
    seed_two_learners(rig)
    rig.state.add_mark(UPN_1, dt.date(2026, 1, 5), "AM", "-")
    rig.state.add_mark(UPN_1, dt.date(2026, 1, 5), "PM", "/")
    marks, _ = await read_everything(rig.adapter(), "read_marks")
    assert [m.session for m in marks if isinstance(m, AttendanceMark)] == [Session.PM]


# --- learners, roll, increments ------------------------------------------------------------


async def test_learners_and_roll_map_to_contracts(rig: SimsRig) -> None:
    seed_two_learners(rig)
    rig.state.add_learner(make_upn("999999920003"), "Guesta", "Visitor", dt.date(2015, 1, 1))
    rig.state.add_enrolment(make_upn("999999920003"), dt.date(2026, 1, 5), enrol_status="G")
    rig.state.add_enrolment(
        UPN_1,
        dt.date(2019, 9, 1),
        leaving_date=dt.date(2021, 7, 20),
        deletion_ground="wales-2010:8(1)(a)",
    )
    learners, _ = await read_everything(rig.adapter(), "read_learners")
    assert {learner.upn for learner in learners if isinstance(learner, Learner)} == {
        UPN_1,
        UPN_2,
        make_upn("999999920003"),
    }
    roll, _ = await read_everything(rig.adapter(), "read_roll")
    by_start = {(r.upn, r.start_date): r for r in roll if isinstance(r, Registration)}
    assert len(by_start) == 3  # the guest enrolment is not on the admission register
    assert by_start[(UPN_2, dt.date(2021, 9, 1))].status is RegistrationStatus.MAIN
    left = by_start[(UPN_1, dt.date(2019, 9, 1))]
    assert left.end_date == dt.date(2021, 7, 20) and left.deletion_ground == "wales-2010:8(1)(a)"


async def test_an_amended_mark_is_the_only_thing_the_next_run_reads(rig: SimsRig) -> None:
    seed_two_learners(rig)
    for upn in (UPN_1, UPN_2):
        rig.state.add_mark(upn, dt.date(2026, 1, 5), "AM", "/")
    first, cursor = await read_everything(rig.adapter(), "read_marks")
    assert len(first) == 2
    rig.state.add_mark(UPN_2, dt.date(2026, 1, 5), "AM", "8")
    second, cursor = await read_everything(rig.adapter(), "read_marks", cursor)
    assert [(m.upn, m.code) for m in second if isinstance(m, AttendanceMark)] == [(UPN_2, "Y")]
    third, _ = await read_everything(rig.adapter(), "read_marks", cursor)
    assert third == []


async def test_a_cursor_from_another_adapter_is_refused(rig: SimsRig) -> None:
    with pytest.raises(PermanentError, match="cursor"):
        await rig.adapter().read_marks('{"page": 3}')


# --- writes ----------------------------------------------------------------------------------


def mark(
    upn: str, code: str, *, day: dt.date = dt.date(2026, 1, 12), setting: str = SCHOOL
) -> AttendanceMark:
    return AttendanceMark(
        upn=upn,
        setting_id=setting,
        date=day,
        session=Session.AM,
        code=code,
        source="hub",
        recorded_at=dt.datetime(2026, 1, 12, 9, tzinfo=dt.UTC),
    )


async def test_write_reports_one_outcome_per_record_and_commits_the_valid_ones(
    rig: SimsRig,
) -> None:
    seed_two_learners(rig)
    rig.state.add_enrolment(
        UPN_2, dt.date(2021, 9, 1), enrol_status="M", leaving_date=dt.date(2025, 12, 19)
    )
    del rig.state.codes["W"]  # a school that never uses W
    batch = [
        mark(UPN_1, "D"),  # accepted
        mark(make_upn("999999920099"), "D"),  # SIMS: no such learner
        mark(UPN_1, "D", setting="6799998"),  # another school: refused before sending
        mark(UPN_1, "W", day=dt.date(2026, 1, 13)),  # the school's list lacks W
        mark(UPN_2, "D"),  # SIMS: not on roll on that date
    ]
    result = await rig.adapter().write_marks(batch, "write-1")
    outcomes = {o.index: o for o in result.outcomes}
    assert sorted(outcomes) == [0, 1, 2, 3, 4]
    assert outcomes[0].ok and outcomes[0].external_ref
    assert not outcomes[1].ok and "no learner" in (outcomes[1].error or "")
    assert not outcomes[2].ok and "another setting" in (outcomes[2].error or "")
    assert not outcomes[3].ok and "code list" in (outcomes[3].error or "")
    assert not outcomes[4].ok and "not on roll" in (outcomes[4].error or "")
    learner = rig.state.learner_by_upn(UPN_1)
    assert learner is not None
    assert rig.state.marks[(learner.person_id, dt.date(2026, 1, 12), "AM")].code == "D"


async def test_the_same_idempotency_key_writes_once(rig: SimsRig) -> None:
    seed_two_learners(rig)
    first = await rig.adapter().write_marks([mark(UPN_1, "D")], "write-once")
    second = await rig.adapter().write_marks([mark(UPN_1, "D")], "write-once")
    assert first == second
    assert rig.state.applied_writes == 1


async def test_a_reused_key_with_other_records_is_refused(rig: SimsRig) -> None:
    seed_two_learners(rig)
    await rig.adapter().write_marks([mark(UPN_1, "D")], "write-key")
    with pytest.raises(PermanentError, match="IdempotencyKeyReused"):
        await rig.adapter().write_marks([mark(UPN_2, "D")], "write-key")


# --- credentials -----------------------------------------------------------------------------


async def test_a_token_is_reused_and_refreshed_once_when_revoked(rig: SimsRig) -> None:
    seed_two_learners(rig)
    adapter = rig.adapter()
    await adapter.check()
    await adapter.read_learners(None)
    assert len(rig.state.tokens) == 1
    rig.state.expire_tokens()
    await adapter.read_learners(None)
    assert len(rig.state.tokens) == 2


@pytest.mark.parametrize(
    ("override", "error", "match"),
    [
        pytest.param({"client_secret": "wrong"}, AuthError, "invalid_client", id="client-secret"),
        pytest.param({"subscription_key": "wrong"}, AuthError, "subscription key", id="sub-key"),
        pytest.param({"school_id": "6700000"}, ConfigError, "school_id", id="school"),
    ],
)
async def test_check_classifies_wrong_settings(
    rig: SimsRig, override: dict[str, str], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        await rig.adapter(**override).check()


# --- pushes ----------------------------------------------------------------------------------


def push(
    body: dict[str, object], secret: str = "synthetic-webhook-secret"
) -> tuple[dict[str, str], bytes]:
    raw = json.dumps(body).encode()
    return {"x-sims-signature": "sha256=" + sign_hmac_sha256(secret.encode(), raw)}, raw


PUSHED: dict[str, object] = {
    "SchoolID": SCHOOL,
    "SessionAttendances": [
        {
            "AttendanceID": 77,
            "UPN": UPN_1,
            "AttendanceDate": "2026-01-14",
            "SessionName": "AM",
            "AttendanceMark": "9",
            "LastUpdated": "2026-01-14T09:05:00Z",
        }
    ],
}


async def test_a_signed_push_returns_mapped_marks(rig: SimsRig) -> None:
    headers, body = push(PUSHED)
    page = await rig.adapter().handle_webhook(headers, body)
    (record,) = page.records
    assert isinstance(record, AttendanceMark) and record.code == "Y"


@pytest.mark.parametrize(
    ("headers_body", "error"),
    [
        pytest.param(push(PUSHED, secret="another"), AuthError, id="wrong-secret"),
        pytest.param(({}, json.dumps(PUSHED).encode()), AuthError, id="unsigned"),
        pytest.param(push({**PUSHED, "SchoolID": "6700000"}), PermanentError, id="other-school"),
    ],
)
async def test_a_bad_push_is_refused(
    rig: SimsRig, headers_body: tuple[dict[str, str], bytes], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await rig.adapter().handle_webhook(*headers_body)


async def test_pushes_need_a_webhook_secret(rig: SimsRig) -> None:
    with pytest.raises(ConfigError, match="webhook_secret"):
        await rig.adapter(webhook_secret=None).handle_webhook(*push(PUSHED))
