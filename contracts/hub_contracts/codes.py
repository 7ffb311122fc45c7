"""Attendance code sets: which codes exist, and how each counts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from ._base import ContractModel, Jurisdiction, MarkCode


class CodeCategory(StrEnum):
    PRESENT = "present"
    AEA = "aea"  # approved educational activity
    AUTHORISED = "authorised"
    UNAUTHORISED = "unauthorised"
    NOT_COUNTED = "not_counted"


class CodeDefinition(ContractModel):
    category: CodeCategory
    physically_present: bool
    counts_as_possible: bool
    description_en: str = Field(min_length=1)
    description_cy: str = Field(min_length=1)
    # Where the row comes from; "UNVERIFIED" rows are flagged so operators can see them.
    source: str | None = None


class CodeSet(ContractModel):
    id: str = Field(pattern=r"^[a-z]+-[0-9]{4}$")
    jurisdiction: Jurisdiction
    effective_from: dt.date
    effective_to: dt.date | None = None
    codes: dict[MarkCode, CodeDefinition]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        for code, definition in self.codes.items():
            present = definition.category is CodeCategory.PRESENT
            if present and not definition.physically_present:
                raise ValueError(f"code {code!r}: a present code must be physically present")
            if definition.category is CodeCategory.NOT_COUNTED and definition.counts_as_possible:
                raise ValueError(f"code {code!r}: a not-counted code cannot be a possible session")
        return self

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )
