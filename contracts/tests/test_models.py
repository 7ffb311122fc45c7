"""Contract models: field validation with messages that name the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from hub_contracts import (
    AttendanceMark,
    EotasPlacement,
    Learner,
    Registration,
    RollDeletionRequest,
    SchoolCalendar,
    Session,
    Setting,
    describe_validation_error,
    make_upn,
)

UPN = make_upn("820200101001")
NOW = dt.datetime(2025, 10, 6, 9, 0, tzinfo=dt.UTC)


def _mark(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "upn": UPN,
        "setting_id": "6734012",
        "date": "2025-10-06",
        "session": "AM",
        "code": "/",
        "source": "sims",
        "recorded_at": NOW.isoformat(),
    }
    base.update(overrides)
    return base


def _fields(exc: ValidationError) -> set[str]:
    return {e.field for e in describe_validation_error(exc)}


def test_mark_round_trips_through_json() -> None:
    mark = AttendanceMark.model_validate(_mark())
    assert AttendanceMark.model_validate_json(mark.model_dump_json()) == mark
    assert mark.session is Session.AM


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"upn": "A820200101001"}, "upn", id="bad check letter"),
        pytest.param({"session": "EVENING"}, "session", id="unknown session"),
        pytest.param({"code": "toolong"}, "code", id="code not a statutory code shape"),
        pytest.param({"recorded_at": "2025-10-06T09:00:00"}, "recorded_at", id="naive datetime"),
        pytest.param({"minutes_late": -1}, "minutes_late", id="negative lateness"),
        pytest.param({"surprise": 1}, "surprise", id="unknown field forbidden"),
        pytest.param({"date": "06/10/2025"}, "date", id="non-ISO date"),
    ],
)
def test_mark_rejections_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        AttendanceMark.model_validate(_mark(**overrides))
    assert field in _fields(info.value)


def test_recorded_at_is_normalised_to_utc() -> None:
    mark = AttendanceMark.model_validate(_mark(recorded_at="2025-10-06T10:00:00+01:00"))
    assert mark.recorded_at == NOW
    assert mark.recorded_at.utcoffset() == dt.timedelta(0)


def test_models_are_frozen() -> None:
    mark = AttendanceMark.model_validate(_mark())
    with pytest.raises(ValidationError):
        mark.code = "N"  # type: ignore[misc]


def test_setting_la_code_is_three_digits() -> None:
    with pytest.raises(ValidationError) as info:
        Setting(
            id="6734012",
            name="Ysgol Enghraifft",
            kind="mainstream",
            jurisdiction="wales",  # type: ignore[arg-type]
            la_code="67",
            maintained=True,
        )
    assert "la_code" in _fields(info.value)


def test_learner_nested_flag_error_names_dotted_path() -> None:
    with pytest.raises(ValidationError) as info:
        Learner.model_validate(
            {
                "upn": UPN,
                "given_name": "Synthetic",
                "family_name": "Pupil-One",
                "date_of_birth": "2015-01-01",
                "flags": {"social_worker_email": "not-an-email"},
            }
        )
    assert "flags.social_worker_email" in _fields(info.value)


def test_registration_end_before_start_rejected() -> None:
    with pytest.raises(ValidationError, match="end_date is before start_date"):
        Registration(
            upn=UPN,
            setting_id="6734012",
            status="single",  # type: ignore[arg-type]
            start_date=dt.date(2025, 9, 1),
            end_date=dt.date(2025, 8, 1),
        )


def test_registration_on_roll_inclusive_of_end_date() -> None:
    reg = Registration(
        upn=UPN,
        setting_id="6734012",
        status="main",  # type: ignore[arg-type]
        start_date=dt.date(2025, 9, 1),
        end_date=dt.date(2025, 10, 1),
    )
    assert reg.on_roll(dt.date(2025, 9, 1))
    assert reg.on_roll(dt.date(2025, 10, 1))
    assert not reg.on_roll(dt.date(2025, 10, 2))


def test_placement_schedule() -> None:
    placement = EotasPlacement.model_validate(
        {
            "upn": UPN,
            "school_id": "6734012",
            "provider_id": "EOTAS-01",
            "sessions": [{"weekday": 0, "session": "AM"}],
            "start_date": "2025-09-01",
        }
    )
    monday, tuesday = dt.date(2025, 10, 6), dt.date(2025, 10, 7)
    assert placement.scheduled(monday, Session.AM)
    assert not placement.scheduled(monday, Session.PM)
    assert not placement.scheduled(tuesday, Session.AM)
    with pytest.raises(ValidationError):
        EotasPlacement.model_validate(
            {**placement.model_dump(), "sessions": [{"weekday": 7, "session": "AM"}]}
        )


def test_calendar_days_sorted_and_unique() -> None:
    cal = SchoolCalendar.model_validate(
        {"setting_id": "6734012", "school_days": ["2025-10-07", "2025-10-06", "2025-10-07"]}
    )
    assert cal.school_days == (dt.date(2025, 10, 6), dt.date(2025, 10, 7))


@pytest.mark.parametrize(
    ("ground", "ok"),
    [
        pytest.param("wales-2010:8(1)(d)", True, id="Wales reg 8(1)(d)"),
        pytest.param("england-2024:9(1)(f)", True, id="England 2024 reg 9(1)(f)"),
        pytest.param("wales-2010:9", True, id="Wales reg 9"),
        pytest.param("8(1)(d)", False, id="no code set prefix"),
        pytest.param("wales-2010:8(1)(d); drop", False, id="junk after ground"),
    ],
)
def test_deletion_ground_id_shape(ground: str, ok: bool) -> None:
    body = {"upn": UPN, "setting_id": "6734012", "ground": ground, "effective_date": "2025-10-06"}
    if ok:
        assert RollDeletionRequest.model_validate(body).dry_run is False
    else:
        with pytest.raises(ValidationError) as info:
            RollDeletionRequest.model_validate(body)
        assert "ground" in _fields(info.value)
