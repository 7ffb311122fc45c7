"""Synthetic records for the store tests (obviously fake: LA 999, names like "Test Learner").

Tests reach the builders through the ``synthetic`` fixture (conftest modules are not imported).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub_contracts import (
    AttendanceMark,
    Jurisdiction,
    Learner,
    Session,
    Setting,
    SettingKind,
    make_upn,
)

T0 = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
MONDAY = dt.date(2025, 1, 6)


def upn(n: int) -> str:
    """The n-th synthetic UPN (LA 999, establishment 0001)."""
    return make_upn(f"99900012{n % 10_000:04d}")


def setting(setting_id: str = "9990001", **overrides: Any) -> Setting:
    values: dict[str, Any] = {
        "id": setting_id,
        "name": f"Test School {setting_id}",
        "kind": SettingKind.MAINSTREAM,
        "jurisdiction": Jurisdiction.WALES,
        "la_code": "999",
        "maintained": True,
    }
    return Setting(**(values | overrides))


def learner(n: int = 1, **overrides: Any) -> Learner:
    values: dict[str, Any] = {
        "upn": upn(n),
        "given_name": "Test",
        "family_name": f"Learner {n}",
        "date_of_birth": dt.date(2014, 9, 1),
    }
    return Learner(**(values | overrides))


def mark(
    n: int = 1,
    *,
    day: dt.date = MONDAY,
    session: Session = Session.AM,
    code: str = "/",
    setting_id: str = "9990001",
    recorded_at: dt.datetime = T0,
    **overrides: Any,
) -> AttendanceMark:
    values: dict[str, Any] = {
        "upn": upn(n),
        "setting_id": setting_id,
        "date": day,
        "session": session,
        "code": code,
        "source": "test-mis",
        "recorded_at": recorded_at,
    }
    return AttendanceMark(**(values | overrides))


class Synthetic:
    T0 = T0
    MONDAY = MONDAY
    upn = staticmethod(upn)
    setting = staticmethod(setting)
    learner = staticmethod(learner)
    mark = staticmethod(mark)


@pytest.fixture
def synthetic() -> type[Synthetic]:
    return Synthetic
