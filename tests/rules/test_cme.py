"""Children missing education (10-school-day referral) and safeguarding escalation (24 hours).

Synthetic data only: a Welsh-style autumn term 2025 with a one-week half term (27-31 Oct).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.rules.calendar import SchoolDays
from hub.rules.cme import (
    CmePolicy,
    EscalationPolicy,
    cme_check,
    safeguarding_escalation,
)
from hub_contracts import (
    AttendanceMark,
    Jurisdiction,
    Learner,
    LearnerFlags,
    NotificationKind,
    Session,
    make_upn,
)

D = dt.date
Codes = dict[tuple[dt.date, Session], str]


def weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    span = (last - first).days + 1
    return [d for d in (first + dt.timedelta(days=i) for i in range(span)) if d.weekday() < 5]


AUTUMN = SchoolDays(
    weekdays(D(2025, 9, 1), D(2025, 10, 24)) + weekdays(D(2025, 11, 3), D(2025, 12, 19)),
    setting_id="W-SYNTH-001",
)
UPN = make_upn("999000120003")
LEARNER = Learner(upn=UPN, given_name="Testy", family_name="Synthetic", date_of_birth=D(2014, 5, 1))


def school_days(first: dt.date, n: int) -> list[dt.date]:
    return [d for d in AUTUMN.days if d >= first][:n]


def absent(days: list[dt.date], code: str = "O") -> Codes:
    present = {(d, s): "/" for d in AUTUMN.days if d < days[0] for s in Session}
    return {**present, **{(d, s): code for d in days for s in Session}}


# --- CME referral ----------------------------------------------------------------------------

TEN_ACROSS_HALF_TERM = school_days(D(2025, 10, 20), 10)  # 20-24 Oct, 3-7 Nov


@pytest.mark.parametrize(
    ("codes", "today", "expected_due"),
    [
        pytest.param(absent(TEN_ACROSS_HALF_TERM), D(2025, 11, 7), D(2025, 11, 7),
                     id="seed001-181-10th-day-across-half-term"),
        pytest.param(absent(school_days(D(2025, 11, 3), 10), "N"), D(2025, 11, 14), D(2025, 11, 14),
                     id="seed001-181-10-days-N"),
        pytest.param(absent(school_days(D(2025, 11, 3), 15), "G"), D(2025, 11, 21), D(2025, 11, 14),
                     id="seed001-181-15-days-still-due-on-10th"),
        pytest.param(absent(school_days(D(2025, 11, 3), 9)), D(2025, 11, 13), None,
                     id="seed001-181-9-days-no-referral"),
        pytest.param({**absent(TEN_ACROSS_HALF_TERM), (D(2025, 10, 23), Session.PM): "C"},
                     D(2025, 11, 7), None, id="wales-reg12(2)-authorised-session-breaks-run"),
        pytest.param({**absent(TEN_ACROSS_HALF_TERM), (D(2025, 11, 4), Session.AM): "D"},
                     D(2025, 11, 7), None, id="wales-reg12(2)(c)-D-at-dual-school-breaks-run"),
        pytest.param({**absent(TEN_ACROSS_HALF_TERM), (D(2025, 11, 5), Session.AM): "B"},
                     D(2025, 11, 7), None, id="wales-reg12(2)(d)-approved-activity-breaks-run"),
        pytest.param({k: v for k, v in absent(TEN_ACROSS_HALF_TERM).items()
                      if k != (D(2025, 11, 7), Session.PM)},
                     D(2025, 11, 7), None, id="day-10-pm-not-yet-marked-is-in-progress"),
        pytest.param({**absent(TEN_ACROSS_HALF_TERM), (D(2025, 11, 10), Session.AM): "/",
                      (D(2025, 11, 10), Session.PM): "/"},
                     D(2025, 11, 10), None, id="seed001-181-returned-no-longer-missing"),
    ],
)  # fmt: skip
def test_cme_referral(codes: Codes, today: dt.date, expected_due: dt.date | None) -> None:
    finding = cme_check(LEARNER, codes, AUTUMN, Jurisdiction.WALES, today)
    if expected_due is None:
        assert finding is None
        return
    assert finding is not None
    assert finding.referral_due == expected_due
    referral, concern = finding.notifications
    assert (referral.kind, referral.recipient, referral.due_by) == (
        NotificationKind.CME_REFERRAL,
        "la:cme",
        expected_due,
    )
    # seed 001 line 181: "update your My Concern system"
    assert (concern.kind, concern.recipient) == (
        NotificationKind.SAFEGUARDING_ALERT,
        "safeguarding",
    )
    assert referral.key == f"cme_referral:{UPN}:{finding.run_first_day.isoformat()}"


def test_cme_referral_is_one_per_run_however_often_checked() -> None:
    days = school_days(D(2025, 11, 3), 15)
    findings = [
        cme_check(LEARNER, absent(days[:n]), AUTUMN, "wales", days[n - 1]) for n in range(10, 16)
    ]
    keys = {f.notifications[0].key for f in findings if f is not None}
    dues = {f.referral_due for f in findings if f is not None}
    assert len(findings) == 6 and len(keys) == 1 and dues == {D(2025, 11, 14)}
    # The same inputs give the same finding.
    assert cme_check(LEARNER, absent(days), AUTUMN, "wales", days[-1]) == findings[-1]


def test_cme_marks_as_history_use_the_current_mark() -> None:
    at = dt.datetime(2025, 11, 3, 9, tzinfo=dt.UTC)
    days = school_days(D(2025, 11, 3), 10)
    history = [
        AttendanceMark(upn=UPN, setting_id=AUTUMN.setting_id, date=d, session=s, code=c,
                       source="test", recorded_at=at + dt.timedelta(days=i, minutes=m))
        for i, d in enumerate(days) for s in Session for m, c in ((0, "N"), (5, "O"))
    ]  # fmt: skip
    assert cme_check(LEARNER, history, AUTUMN, "wales", days[-1]) is not None
    # A later amendment authorising one session (M) breaks the run.
    later = at + dt.timedelta(days=30)
    amended = [*history, history[-1].model_copy(update={"code": "M", "recorded_at": later})]
    assert cme_check(LEARNER, amended, AUTUMN, "wales", days[-1]) is None


@pytest.mark.parametrize(
    ("policy", "today", "found"),
    [
        pytest.param(CmePolicy(cme_referral_after_school_days=5), D(2025, 11, 7), True,
                     id="configurable-5-days"),
        pytest.param(CmePolicy(qualifying_codes=frozenset({"N"})), D(2025, 11, 14), False,
                     id="configurable-codes-O-not-counted"),
        pytest.param(CmePolicy(raise_safeguarding_concern=False), D(2025, 11, 14), True,
                     id="configurable-no-concern"),
    ],
)  # fmt: skip
def test_cme_policy_is_configurable(policy: CmePolicy, today: dt.date, found: bool) -> None:
    codes = absent(school_days(D(2025, 11, 3), 10))
    finding = cme_check(LEARNER, codes, AUTUMN, "wales", today, policy)
    assert (finding is not None) is found
    if finding is not None and not policy.raise_safeguarding_concern:
        assert [n.kind for n in finding.notifications] == [NotificationKind.CME_REFERRAL]


def test_cme_only_for_compulsory_school_age() -> None:
    older = LEARNER.model_copy(update={"date_of_birth": D(2008, 1, 1)})
    codes = absent(school_days(D(2025, 11, 3), 10))
    assert cme_check(older, codes, AUTUMN, "wales", D(2025, 11, 14)) is None
    any_age = CmePolicy(only_compulsory_school_age=False)
    assert cme_check(older, codes, AUTUMN, "wales", D(2025, 11, 14), any_age) is not None


def brute_force_run(codes: Codes, up_to: dt.date) -> list[dt.date]:
    def unauthorised(day: dt.date, s: Session) -> bool:
        return codes.get((day, s)) in {"G", "N", "O"}

    marked = [d for d in AUTUMN.days if d <= up_to and any((d, s) in codes for s in Session)]
    if not marked:
        return []
    last = marked[-1]
    on_last = [s for s in Session if (last, s) in codes]
    if len(on_last) == 1 and unauthorised(last, on_last[0]):
        last = max([d for d in AUTUMN.days if d < last], default=D(1, 1, 1))
    run: list[dt.date] = []
    for day in reversed([d for d in AUTUMN.days if d <= last]):
        if not all(unauthorised(day, s) for s in Session):
            break
        run.insert(0, day)
    return run


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.lists(
        st.tuples(*[st.sampled_from(["N", "O", "G"] * 8 + ["I", "/", "D", "B", "U", None])] * 2),
        min_size=len(AUTUMN),
        max_size=len(AUTUMN),
    ),
    today=st.dates(min_value=D(2025, 9, 1), max_value=D(2025, 12, 21)),
)
def test_cme_agrees_with_brute_force(
    pattern: list[tuple[str | None, str | None]], today: dt.date
) -> None:
    codes = {
        (day, session): code
        for day, pair in zip(AUTUMN.days, pattern, strict=True)
        for session, code in zip(Session, pair, strict=True)
        if code is not None
    }
    run = brute_force_run(codes, today)
    finding = cme_check(LEARNER, codes, AUTUMN, "wales", today)
    if len(run) < 10:
        assert finding is None
    else:
        assert finding is not None
        assert (finding.run_first_day, finding.referral_due) == (run[0], run[9])


# --- safeguarding escalation -----------------------------------------------------------------

RECORDED = dt.datetime(2025, 11, 3, 9, 5, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 11, 3, 9, 30, tzinfo=dt.UTC)


def mark(code: str, recorded_at: dt.datetime = RECORDED) -> AttendanceMark:
    return AttendanceMark(
        upn=UPN,
        setting_id="W-SYNTH-001",
        date=D(2025, 11, 3),
        session=Session.AM,
        code=code,
        source="test",
        recorded_at=recorded_at,
    )


LAC = LearnerFlags(looked_after=True)
CP_SW = LearnerFlags(child_protection_plan=True, social_worker_email="sw@example.org")


@pytest.mark.parametrize(
    ("flags", "code", "recipients"),
    [
        pytest.param(LAC, "N", ["safeguarding"], id="seed001-186-looked-after-N"),
        pytest.param(CP_SW, "O", ["safeguarding", "social_worker"],
                     id="seed001-186-cp-plan-O-social-worker-known"),
        pytest.param(LearnerFlags(looked_after=True, social_worker_email="sw@example.org"), "N",
                     ["safeguarding", "social_worker"], id="seed003-545-social-worker-told"),
        pytest.param(LearnerFlags(), "N", [], id="seed001-186-not-at-risk"),
        pytest.param(LAC, "I", [], id="seed001-186-explained-illness"),
        pytest.param(LAC, "G", [], id="default-unexplained-is-N-or-O"),
        pytest.param(LAC, "/", [], id="present"),
    ],
)  # fmt: skip
def test_safeguarding_escalation(flags: LearnerFlags, code: str, recipients: list[str]) -> None:
    learner = LEARNER.model_copy(update={"flags": flags})
    escalation = safeguarding_escalation(learner, mark(code), NOW)
    if not recipients:
        assert escalation is None
        return
    assert escalation is not None
    # seed 001 lines 185-188: within the first 24 hours of the unauthorised absence
    assert escalation.due_at == RECORDED + dt.timedelta(hours=24)
    assert [n.recipient for n in escalation.notifications] == recipients
    for n in escalation.notifications:
        assert n.kind is NotificationKind.SAFEGUARDING_ALERT
        assert n.due_at == escalation.due_at and n.due_by == D(2025, 11, 4)
    assert escalation.natural_key == (UPN, D(2025, 11, 3), Session.AM)


def test_escalation_deadline_runs_from_the_absence_not_a_late_sync() -> None:
    learner = LEARNER.model_copy(update={"flags": LAC})
    late_now = RECORDED + dt.timedelta(hours=30)
    escalation = safeguarding_escalation(learner, mark("N"), late_now)
    assert escalation is not None and escalation.due_at == RECORDED + dt.timedelta(hours=24)
    # A mark recorded "in the future" (clock skew) cannot push the deadline past now + 24h.
    skewed = safeguarding_escalation(learner, mark("N", NOW + dt.timedelta(hours=5)), NOW)
    assert skewed is not None and skewed.due_at == NOW + dt.timedelta(hours=24)


def test_escalation_amended_code_keeps_its_key() -> None:
    learner = LEARNER.model_copy(update={"flags": LAC})
    first = safeguarding_escalation(learner, mark("N"), NOW)
    amended = safeguarding_escalation(learner, mark("O", NOW), NOW + dt.timedelta(hours=1))
    assert first is not None and amended is not None
    assert [n.key for n in first.notifications] == [n.key for n in amended.notifications]


def test_escalation_policy_and_guards() -> None:
    learner = LEARNER.model_copy(update={"flags": LAC})
    wide = EscalationPolicy(
        unexplained_codes=frozenset({"N", "O", "G"}), within=dt.timedelta(hours=4)
    )
    escalation = safeguarding_escalation(learner, mark("G"), NOW, wide)
    assert escalation is not None and escalation.due_at == RECORDED + dt.timedelta(hours=4)
    with pytest.raises(ValueError, match="aware"):
        safeguarding_escalation(learner, mark("N"), NOW.replace(tzinfo=None))
    other = learner.model_copy(update={"upn": make_upn("999000120004")})
    with pytest.raises(ValueError, match="not the learner"):
        safeguarding_escalation(other, mark("N"), NOW)
