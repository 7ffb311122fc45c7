"""Deletion-return due dates and contents, the periodic absence return, and the seeds' LA policies.

Synthetic data only: a Welsh-style autumn term 2025 with a one-week half term (27-31 Oct).
"""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import JsonValue

from hub.rules.calendar import CalendarExhausted, SchoolDays
from hub.rules.deletion import CheckStatus, DeletionFacts, decide_deletion
from hub.rules.grounds import Ground, lookup_ground
from hub.rules.returns import (
    BARKING_AND_DAGENHAM_NOTIFY_CME_TEAM,
    EXAMPLE_DELETION_POLICIES,
    VALE_OF_GLAMORGAN_CME_CHECKLIST_FIRST,
    WREXHAM_ADMITTED_OR_CME_RECORDED,
    AbsenceReturnPolicy,
    AbsenceReturnPupil,
    absence_return_entries,
    codes_by_session,
    deletion_return_contents,
    deletion_return_due,
    deletion_return_due_or_estimate,
)
from hub_contracts import (
    AttendanceMark,
    DecisionOutcome,
    Jurisdiction,
    Learner,
    NotificationKind,
    Registration,
    RegistrationStatus,
    RollDeletionRequest,
    Session,
    Setting,
    SettingKind,
    make_upn,
)

D = dt.date
ALLOWED, REFUSED, PENDING = (
    DecisionOutcome.ALLOWED,
    DecisionOutcome.REFUSED,
    DecisionOutcome.PENDING,
)


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    span = (last - first).days + 1
    return [d for d in (first + dt.timedelta(days=i) for i in range(span)) if d.weekday() < 5]


AUTUMN = SchoolDays(
    weekdays(D(2025, 9, 1), D(2025, 10, 24)) + weekdays(D(2025, 11, 3), D(2025, 12, 19)),
    setting_id="SYNTH",
)


def ground(ground_id: str) -> Ground:
    found = lookup_ground(ground_id)
    assert found is not None
    return found


# --- due dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ground_id", "deleted", "due"),
    [
        pytest.param("wales-2010:8(1)(d)", D(2025, 10, 23), D(2025, 11, 13),
                     id="wales-reg12(3)-deleted-thu-before-half-term"),
        pytest.param("wales-2010:8(1)(c)", D(2025, 10, 24), D(2025, 11, 14),
                     id="wales-reg12(3)-deleted-last-day-before-half-term"),
        pytest.param("wales-2010:8(1)(m)", D(2025, 10, 29), D(2025, 11, 14),
                     id="wales-reg12(3)-deleted-in-half-term"),
        pytest.param("wales-2010:8(1)(g)", D(2025, 11, 20), D(2025, 12, 4),
                     id="wales-reg12(3)-mid-term"),
        pytest.param("wales-2010:8(1)(i)", D(2025, 12, 5), D(2025, 12, 19),
                     id="wales-reg12(3)-exactly-last-day-of-term"),
        pytest.param("wales-2010:8(1)(a)", D(2025, 11, 20), None,
                     id="wales-reg12(3)-no-return-for-(a)"),
        pytest.param("wales-2010:8(1)(h)", D(2025, 11, 20), None,
                     id="wales-reg12(3)-no-return-for-(h)"),
        pytest.param("england-2024:9(1)(h)", D(2025, 10, 24), D(2025, 10, 24),
                     id="eng2024-reg13(4)-no-later-than-deletion"),
        pytest.param("england-2024:9(1)(f)", D(2025, 12, 19), D(2025, 12, 19),
                     id="eng2024-reg13(4)-term-end-needs-no-calendar"),
    ],
)  # fmt: skip
def test_deletion_return_due(ground_id: str, deleted: dt.date, due: dt.date | None) -> None:
    assert deletion_return_due(ground(ground_id), deleted, AUTUMN) == due
    assert deletion_return_due_or_estimate(ground(ground_id), deleted, AUTUMN) == (due, False)


def test_wales_due_at_term_end_raises_calendar_exhausted() -> None:
    with pytest.raises(CalendarExhausted, match="fewer than 10"):
        deletion_return_due(ground("wales-2010:8(1)(d)"), D(2025, 12, 12), AUTUMN)


@pytest.mark.parametrize(
    ("deleted", "estimate"),
    [
        pytest.param(D(2025, 12, 12), D(2025, 12, 26), id="wales-reg12(3)-5-known-5-weekdays"),
        pytest.param(D(2025, 12, 19), D(2026, 1, 2), id="wales-reg12(3)-deleted-last-day"),
    ],
)
def test_wales_due_estimate_is_never_later_than_the_law(
    deleted: dt.date, estimate: dt.date
) -> None:
    due, is_estimate = deletion_return_due_or_estimate(
        ground("wales-2010:8(1)(d)"), deleted, AUTUMN
    )
    assert (due, is_estimate) == (estimate, True)
    # With the spring term loaded (starting 5 Jan), the real due date is later still.
    longer = SchoolDays([*AUTUMN.days, *weekdays(D(2026, 1, 5), D(2026, 2, 13))], setting_id="S")
    real = deletion_return_due(ground("wales-2010:8(1)(d)"), deleted, longer)
    assert real is not None and due is not None and real >= due


# --- contents --------------------------------------------------------------------------------

UPN = make_upn("999000120002")
LEARNER = Learner(
    upn=UPN,
    given_name="Testy",
    family_name="Synthetic",
    date_of_birth=D(2014, 5, 1),
    address="1 Synthetic Street, Testtown",
)


def setting(sid: str, jurisdiction: Jurisdiction, la: str = "999") -> Setting:
    return Setting(
        id=sid,
        name=f"Synthetic {sid}",
        kind=SettingKind.MAINSTREAM,
        jurisdiction=jurisdiction,
        la_code=la,
        maintained=True,
    )


PARENTS: JsonValue = [{"full_name": "P Synthetic", "address": "1 Street", "phone": "0100"}]
W, E = setting("W-SYNTH-001", Jurisdiction.WALES), setting("E-SYNTH-001", Jurisdiction.ENGLAND)


def test_wales_return_contents_full_name_and_address() -> None:
    # Wales reg 12(3): "the full name and address of that pupil"
    contents = deletion_return_contents(
        ground("wales-2010:8(1)(d)"), LEARNER, W, D(2025, 11, 20), {}
    )
    assert contents.missing == ()
    assert contents.payload["full_name"] == "Testy Synthetic"
    assert contents.payload["address"] == LEARNER.address
    assert contents.payload["ground"] == "wales-2010:8(1)(d)"


@pytest.mark.parametrize(
    ("evidence", "missing"),
    [
        pytest.param({}, ("parents",), id="eng2024-reg13(4)(c)-parents-missing"),
        pytest.param({"parents": []}, (), id="eng2024-reg13(4)(c)-no-parent-lives-with-pupil"),
        pytest.param(
            {"parents": [{"full_name": "P Synthetic", "address": "1 Street"}]},
            ("parents[0].phone",),
            id="eng2024-reg13(4)(d)-phone-missing",
        ),
        pytest.param(
            {"parents": PARENTS, "admitted_elsewhere_setting_id": "E-SYNTH-777",
             "destination_start_date": "2025-12-01"},
            (),
            id="eng2024-reg13(4)(e)-destination-included",
        ),
    ],
)  # fmt: skip
def test_england_return_contents(evidence: dict[str, JsonValue], missing: tuple[str, ...]) -> None:
    contents = deletion_return_contents(
        ground("england-2024:9(1)(a)"), LEARNER, E, D(2025, 11, 20), evidence
    )
    assert contents.missing == missing
    for item in ("full_name", "address", "parents", "ground", "destination", "regulation"):
        assert item in contents.payload
    if "admitted_elsewhere_setting_id" in evidence:
        assert contents.payload["destination"] == {
            "admitted_elsewhere_setting_id": "E-SYNTH-777",
            "destination_start_date": "2025-12-01",
        }


# --- periodic absence return -----------------------------------------------------------------


def pupil(n: int, codes: dict[tuple[dt.date, Session], str], **kw: object) -> AbsenceReturnPupil:
    learner = LEARNER.model_copy(
        update={"upn": make_upn(f"99900012{n:04d}"), "given_name": f"Pupil{n}", **kw}
    )
    return AbsenceReturnPupil(learner=learner, marks=codes, cause=f"cause {n}" if n % 2 else None)


Span = tuple[dt.date, dt.date, str]


def fill(*spans: Span) -> dict[tuple[dt.date, Session], str]:
    """Present ("/") every session from 1 Sep to 28 Nov, except the spans given."""

    def code(day: dt.date) -> str:
        return next((c for first, last, c in spans if first <= day <= last), "/")

    return {(d, s): code(d) for d in AUTUMN.days if d <= D(2025, 11, 28) for s in Session}


def test_absence_return_selects_and_explains() -> None:
    across_half_term = (D(2025, 10, 20), D(2025, 11, 7), "O")
    pupils = [
        pupil(1, fill(across_half_term)),  # 10 days across half term
        pupil(2, fill((D(2025, 10, 20), D(2025, 11, 6), "O"))),  # 9 days: run too short
        # sick 10 days in the period; an old run (1-12 Sep) before it
        pupil(
            3, fill((D(2025, 11, 3), D(2025, 11, 14), "I"), (D(2025, 9, 1), D(2025, 9, 12), "O"))
        ),
        pupil(4, fill((D(2025, 11, 3), D(2025, 11, 5), "I"))),  # good attendance
        pupil(5, fill(across_half_term), date_of_birth=D(2008, 1, 1)),  # 17: not of CSA
        pupil(6, fill((D(2025, 10, 22), D(2025, 10, 22), "D"), across_half_term)),  # D breaks
    ]
    entries = absence_return_entries(pupils, AUTUMN, "wales", D(2025, 10, 1), D(2025, 11, 28))
    by_name = {e.full_name.split()[0]: e for e in entries}
    assert sorted(by_name) == ["Pupil1", "Pupil2", "Pupil3", "Pupil6"]
    # Wales reg 12(1)(b): 10 continuous school days, across half term; cause if known
    assert by_name["Pupil1"].reasons == ("irregular_attendance", "continuous_unauthorised_absence")
    assert by_name["Pupil1"].run_first_day == D(2025, 10, 20)
    assert by_name["Pupil1"].run_school_days == 10
    assert by_name["Pupil1"].cause == "cause 1"
    # 9 days is no run, but 18 absent of 126 sessions is below 90% attendance (reg 12(1)(a))
    assert by_name["Pupil2"].reasons == ("irregular_attendance",)
    # The old run (1-12 Sep) started before the period but is not in it; sickness makes it
    # irregular unless the LA treats I as a reg 12(2) case
    assert by_name["Pupil3"].reasons == ("irregular_attendance",)
    # A D at the dual school breaks the run (reg 12(2)(c))
    assert by_name["Pupil6"].reasons == ("irregular_attendance",)
    assert [e.upn for e in entries] == sorted(e.upn for e in entries)
    strict = AbsenceReturnPolicy(irregular_attendance_below_pct=50, excluded_codes=frozenset({"I"}))
    only = absence_return_entries(pupils, AUTUMN, "wales", D(2025, 10, 1), D(2025, 11, 28), strict)
    assert [e.full_name.split()[0] for e in only] == ["Pupil1"]


def test_codes_by_session_takes_the_latest_amendment() -> None:
    at = dt.datetime(2025, 11, 3, 9, tzinfo=dt.UTC)
    marks = [
        AttendanceMark(upn=UPN, setting_id="W-SYNTH-001", date=D(2025, 11, 3), session=Session.AM,
                       code=code, source="test", recorded_at=at + dt.timedelta(hours=h))
        for code, h in (("N", 0), ("M", 2), ("O", 1))
    ]  # fmt: skip
    assert codes_by_session(marks) == {(D(2025, 11, 3), Session.AM): "M"}


# --- the seeds' LA policies ------------------------------------------------------------------


def facts(
    setting_: Setting,
    ground_id: str,
    evidence: dict[str, JsonValue],
    *,
    elsewhere: bool = False,
) -> DeletionFacts:
    registrations = [
        Registration(upn=UPN, setting_id=setting_.id, status=RegistrationStatus.SINGLE,
                     start_date=D(2025, 9, 1)),
    ]  # fmt: skip
    if elsewhere:
        registrations.append(
            Registration(upn=UPN, setting_id="OTHER-1", status=RegistrationStatus.SINGLE,
                         start_date=D(2025, 11, 24))
        )  # fmt: skip
    last_20 = [d for d in AUTUMN.days if d <= D(2025, 11, 20)][-20:]
    absent = {(d, s): "O" for d in last_20 for s in Session}
    return DeletionFacts(
        request=RollDeletionRequest(
            upn=UPN, setting_id=setting_.id, ground=ground_id, effective_date=D(2025, 11, 20),
            evidence=evidence,
        ),
        setting=setting_,
        learner=LEARNER,
        registrations=registrations,
        marks_at_setting=absent,
        calendar=AUTUMN,
        today=D(2025, 11, 20),
    )  # fmt: skip


EHE_W: dict[str, JsonValue] = {"ceased_to_attend": True, "parent_written_notice": True}
MOVED_AWAY: dict[str, JsonValue] = {
    "ceased_to_attend": True,
    "no_longer_within_reasonable_distance": True,
    "ews_referral_made": True,
}
ENQUIRIES: dict[str, JsonValue] = {
    "no_sickness_or_unavoidable_cause": True,
    "school_enquiries_failed": True,
    "la_enquiries_failed": True,
}


def test_barking_and_dagenham_tells_the_cme_team_of_every_removal() -> None:
    # seed 003 line 659: "inform the Children Missing Education Team of all removals ... no later
    # than the date the child is removed"
    f = facts(E, "england-2024:9(1)(f)", {"parent_written_notice": True, "parents": PARENTS})
    draft = decide_deletion(f, [BARKING_AND_DAGENHAM_NOTIFY_CME_TEAM])
    assert draft.decision is ALLOWED
    notices = [(n.kind, n.recipient, n.due_by) for n in draft.notifications]
    assert (NotificationKind.DELETION_NOTICE, "la:cme", D(2025, 11, 20)) in notices
    assert (NotificationKind.DELETION_RETURN, "la", D(2025, 11, 20)) in notices
    # Not applied to a Welsh school, nor to another LA once bound to one.
    welsh = decide_deletion(facts(W, "wales-2010:8(1)(d)", EHE_W), EXAMPLE_DELETION_POLICIES[:1])
    assert all(n.recipient != "la:cme" for n in welsh.notifications)
    bound = BARKING_AND_DAGENHAM_NOTIFY_CME_TEAM.for_las("301")
    assert all(n.recipient != "la:cme" for n in decide_deletion(f, [bound]).notifications)


def test_barking_and_dagenham_adds_nothing_to_a_refusal() -> None:
    f = facts(E, "england-2024:9(1)(f)", {"parents": PARENTS})
    draft = decide_deletion(f, [BARKING_AND_DAGENHAM_NOTIFY_CME_TEAM])
    assert draft.decision is REFUSED and draft.notifications == ()


@pytest.mark.parametrize(
    ("ground_id", "evidence", "elsewhere", "decision"),
    [
        pytest.param("wales-2010:8(1)(d)", EHE_W, False, PENDING,
                     id="seed002-352-ehe-waits-for-la-cme-document"),
        pytest.param("wales-2010:8(1)(d)", {**EHE_W, "la_cme_record_ref": "WRX-CME-1"}, False,
                     ALLOWED, id="seed002-352-cme-document-recorded"),
        pytest.param("wales-2010:8(1)(b)", {}, True, ALLOWED,
                     id="seed002-352-admitted-elsewhere"),
        pytest.param("wales-2010:8(1)(j)", {"date_of_death_notified": "2025-11-19"}, False,
                     ALLOWED, id="seed002-352-death-exempt"),
    ],
)  # fmt: skip
def test_wrexham_keeps_on_roll_until_admitted_or_cme_recorded(
    ground_id: str, evidence: dict[str, JsonValue], elsewhere: bool, decision: DecisionOutcome
) -> None:
    draft = decide_deletion(
        facts(W, ground_id, evidence, elsewhere=elsewhere), [WREXHAM_ADMITTED_OR_CME_RECORDED]
    )
    assert draft.decision is decision
    if decision is PENDING:
        assert draft.awaiting == ("la:cme",) and draft.awaiting_consent_from == ()
        (referral,) = draft.notifications
        assert (referral.kind, referral.recipient) == (NotificationKind.CME_REFERRAL, "la:cme")
        assert [r.rule for r in draft.reasons] == [
            "la-policy:wrexham/admitted-elsewhere-or-cme-recorded"
        ]
    else:
        assert all(n.kind is not NotificationKind.CME_REFERRAL for n in draft.notifications)


@pytest.mark.parametrize(
    ("ground_id", "evidence", "decision", "failing"),
    [
        pytest.param("wales-2010:8(1)(h)", ENQUIRIES, REFUSED,
                     {"cme-checklist", "inclusion-team-referral"},
                     id="seed001-177-missing-child-no-checklist"),
        pytest.param("wales-2010:8(1)(h)",
                     {**ENQUIRIES, "cme_checklist_completed": True, "cme_referral_made": True},
                     ALLOWED, set(), id="seed001-177-checklist-and-referral-done"),
        pytest.param("wales-2010:8(1)(e)",
                     {**MOVED_AWAY, "believed_missing": True, "cme_referral_made": True},
                     REFUSED, {"cme-checklist"}, id="seed001-177-believed-missing-any-ground"),
        pytest.param("wales-2010:8(1)(d)", EHE_W, ALLOWED, set(),
                     id="seed001-177-not-missing-not-applied"),
    ],
)  # fmt: skip
def test_vale_of_glamorgan_checklist_and_referral_first(
    ground_id: str, evidence: dict[str, JsonValue], decision: DecisionOutcome, failing: set[str]
) -> None:
    draft = decide_deletion(facts(W, ground_id, evidence), [VALE_OF_GLAMORGAN_CME_CHECKLIST_FIRST])
    assert draft.decision is decision
    failed = {
        c.rule.removeprefix("la-policy:vale-of-glamorgan/")
        for c in draft.checks
        if c.status is CheckStatus.FAILED
    }
    assert failed == failing


def test_policies_only_add_to_the_statutory_decision() -> None:
    # A statutory refusal stays refused whatever the policies add.
    f = facts(W, "wales-2010:8(1)(d)", {"ceased_to_attend": True})
    plain = decide_deletion(f)
    with_policies = decide_deletion(f, EXAMPLE_DELETION_POLICIES)
    assert plain.decision is REFUSED and with_policies.decision is REFUSED
    assert with_policies.checks[: len(plain.checks)] == plain.checks
