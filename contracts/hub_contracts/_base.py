"""Shared base model and constrained types for contracts v1."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints

from .upn import UpnError, validate_upn


class ContractModel(BaseModel):
    """Frozen, closed to unknown fields: a contract is exactly its documented shape."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _upn(value: str) -> str:
    try:
        return validate_upn(value)
    except UpnError as exc:
        raise ValueError(str(exc)) from exc


def _to_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 is valid ISO 8601 but falls before year 1 in UTC; a
        # ValueError makes it a validation error naming the field, not a crash.
        raise ValueError("the date-time is out of range once converted to UTC") from None


Upn = Annotated[str, AfterValidator(_upn)]
UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
SettingId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
LaCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Statutory code letters: "/", "\", "#", a letter, or a letter and a digit (C1, J1, Y1-Y7).
MarkCode = Annotated[str, StringConstraints(pattern=r"^(?:[/\\#]|[A-Z][0-9]?)$")]
# Ground ids: "<code set id>:<regulation reference>", e.g. "wales-2010:8(1)(d)".
GroundId = Annotated[
    str, StringConstraints(pattern=r"^[a-z]+-[0-9]{4}:[0-9]+(?:\([0-9a-z]+\))*$", max_length=40)
]
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Session(StrEnum):
    AM = "AM"
    PM = "PM"


class Jurisdiction(StrEnum):
    WALES = "wales"
    ENGLAND = "england"
