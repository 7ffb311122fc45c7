"""Reference and register records: settings, learners, registrations, placements, marks."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Self

from pydantic import Field, field_validator, model_validator

from ._base import (
    ContractModel,
    Email,
    GroundId,
    Jurisdiction,
    LaCode,
    MarkCode,
    NonEmpty,
    Session,
    SettingId,
    Upn,
    UtcDateTime,
)


class SettingKind(StrEnum):
    MAINSTREAM = "mainstream"
    SPECIAL = "special"
    PRU = "pru"
    INDEPENDENT = "independent"
    EOTAS_PROVIDER = "eotas_provider"


class Setting(ContractModel):
    """A school, PRU or EOTAS provider."""

    id: SettingId
    name: NonEmpty
    kind: SettingKind
    jurisdiction: Jurisdiction
    la_code: LaCode
    maintained: bool
    contact_email: Email | None = None


class LearnerFlags(ContractModel):
    looked_after: bool = False
    child_protection_plan: bool = False
    social_worker_email: Email | None = None


class Learner(ContractModel):
    upn: Upn
    given_name: NonEmpty
    family_name: NonEmpty
    date_of_birth: dt.date
    address: str | None = Field(default=None, max_length=500)
    flags: LearnerFlags = LearnerFlags()
    # Settings this learner's data must not be shared with; only a safeguarding alert overrides.
    sharing_restrictions: tuple[SettingId, ...] = ()


class RegistrationStatus(StrEnum):
    SINGLE = "single"
    MAIN = "main"
    SUBSIDIARY = "subsidiary"


class Registration(ContractModel):
    """A learner on a setting's admission register between two dates."""

    upn: Upn
    setting_id: SettingId
    status: RegistrationStatus
    start_date: dt.date
    end_date: dt.date | None = None
    deletion_ground: GroundId | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self

    def on_roll(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


class ScheduledSession(ContractModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    session: Session


class PlacementArranger(StrEnum):
    SCHOOL = "school"
    LA = "la"


class EotasPlacement(ContractModel):
    """Education otherwise than at school for a learner who stays on a school's roll."""

    upn: Upn
    school_id: SettingId
    provider_id: SettingId
    sessions: tuple[ScheduledSession, ...] = ()
    start_date: dt.date
    end_date: dt.date | None = None
    # England 2024 regs: LA-arranged provision is recorded as K, school-arranged as B.
    arranged_by: PlacementArranger = PlacementArranger.SCHOOL

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self

    def active(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)

    def scheduled(self, day: dt.date, session: Session) -> bool:
        return any(s.weekday == day.weekday() and s.session == session for s in self.sessions)


class SchoolCalendar(ContractModel):
    """The dates a setting meets. School-day arithmetic always uses the setting's own calendar."""

    setting_id: SettingId
    school_days: tuple[dt.date, ...]

    @field_validator("school_days")
    @classmethod
    def _sorted_unique(cls, value: tuple[dt.date, ...]) -> tuple[dt.date, ...]:
        return tuple(sorted(set(value)))


class AttendanceMark(ContractModel):
    """One register entry. Amendments are new marks; the original is kept as history."""

    upn: Upn
    setting_id: SettingId
    date: dt.date
    session: Session
    code: MarkCode
    minutes_late: int | None = Field(default=None, ge=0, le=300)
    source: NonEmpty
    source_ref: str | None = Field(default=None, max_length=200)
    recorded_at: UtcDateTime
