"""Attendance code sets: load the packaged data files, pick the set in force, map local codes.

The code tables themselves are data (``hub/rules/codesets/*.toml``), not code: each row carries its
category, whether it counts as a possible session, and the source it was taken from. This module
only loads them, chooses which one applies to a jurisdiction on a date, and maps a school's local
(MIS) codes to statutory ones. Pure: the only I/O is reading the packaged files, once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from hub_contracts import CodeCategory, CodeDefinition, CodeSet, Jurisdiction

__all__ = [
    "ABSENCE_CATEGORIES",
    "ATTENDANCE_CATEGORIES",
    "CodeNotInForce",
    "InvalidCodeSetFile",
    "InvalidLocalCodeMap",
    "LocalCodeMap",
    "UnknownCodeSetError",
    "UnmappedLocalCode",
    "all_code_sets",
    "code_set_for",
    "code_set_ids",
    "codes_in",
    "is_absence",
    "is_attendance",
    "load_code_set",
    "lookup_code",
    "ordered_code_sets",
]

_DATA_PACKAGE = "hub.rules.codesets"
_DATA_SUFFIX = ".toml"

# Absence statistics count authorised and unauthorised absence only; not-counted codes are
# outside the possible sessions (legal-rules.md §7.1 legend; Wales: seed-digest.md §1.1).
ABSENCE_CATEGORIES: frozenset[CodeCategory] = frozenset(
    {CodeCategory.AUTHORISED, CodeCategory.UNAUTHORISED}
)
# Approved educational activity is "treated as present" (Wales, seed-digest.md §1.1; England
# reg 10 Table 2 "attending a place other than the school", legal-rules.md §3.1).
ATTENDANCE_CATEGORIES: frozenset[CodeCategory] = frozenset({CodeCategory.PRESENT, CodeCategory.AEA})


class UnknownCodeSetError(LookupError):
    """No code set has this id, or none is in force for the jurisdiction on the date."""


class CodeNotInForce(ValueError):
    """A statutory code is not part of the code set in force on the date."""

    def __init__(self, code: str, code_set_id: str, day: dt.date) -> None:
        self.code = code
        self.code_set_id = code_set_id
        self.day = day
        super().__init__(
            f"code {code!r} is not in code set {code_set_id} in force on {day.isoformat()}"
        )


class UnmappedLocalCode(ValueError):
    """A local (MIS) code has no statutory code."""

    def __init__(self, local_code: str, code_set_id: str | None) -> None:
        self.local_code = local_code
        where = f" and is not a statutory code in {code_set_id}" if code_set_id else ""
        super().__init__(f"local code {local_code!r} has no statutory code mapping{where}")


class InvalidCodeSetFile(ValueError):
    """A packaged code set file is inconsistent with its name or with the other sets."""


class InvalidLocalCodeMap(ValueError):
    """A local code map is inconsistent, or maps to statutory codes outside its code set."""


# --- Loading -------------------------------------------------------------------------------------


@cache
def code_set_ids() -> tuple[str, ...]:
    """The ids of every packaged code set (one TOML file each), sorted."""
    folder = resources.files(_DATA_PACKAGE)
    return tuple(
        sorted(
            entry.name.removesuffix(_DATA_SUFFIX)
            for entry in folder.iterdir()
            if entry.name.endswith(_DATA_SUFFIX)
        )
    )


@cache
def load_code_set(code_set_id: str) -> CodeSet:
    """The packaged code set ``code_set_id`` (e.g. ``"england-2024"``), validated.

    Raises UnknownCodeSetError for an id with no data file; a malformed data file raises
    pydantic's ValidationError (a packaging bug, caught by the test suite).
    """
    if code_set_id not in code_set_ids():
        known = ", ".join(code_set_ids())
        raise UnknownCodeSetError(f"no code set {code_set_id!r}; known code sets: {known}")
    text = resources.files(_DATA_PACKAGE).joinpath(code_set_id + _DATA_SUFFIX).read_text("utf-8")
    code_set = CodeSet.model_validate(tomllib.loads(text))
    if code_set.id != code_set_id:
        raise InvalidCodeSetFile(f"{code_set_id}{_DATA_SUFFIX} declares id {code_set.id!r}")
    return code_set


@cache
def all_code_sets() -> tuple[CodeSet, ...]:
    """Every packaged code set, by jurisdiction then effective date; at most one in force a day."""
    return ordered_code_sets(load_code_set(code_set_id) for code_set_id in code_set_ids())


def ordered_code_sets(code_sets: Iterable[CodeSet]) -> tuple[CodeSet, ...]:
    """``code_sets`` by jurisdiction then effective date; raises if two would be in force at once.

    One register, one code set: the set is decided by jurisdiction and date (DESIGN.md §3), so two
    sets of one jurisdiction must never be in force on the same day.
    """
    ordered = tuple(
        sorted(code_sets, key=lambda cs: (cs.jurisdiction.value, cs.effective_from, cs.id))
    )
    for earlier, later in itertools.pairwise(ordered):
        if earlier.jurisdiction is not later.jurisdiction:
            continue
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            raise InvalidCodeSetFile(
                f"code sets {earlier.id} and {later.id} are both in force "
                f"on {later.effective_from.isoformat()}"
            )
    return ordered


# --- Selection -----------------------------------------------------------------------------------


def code_set_for(jurisdiction: Jurisdiction | str, day: dt.date) -> CodeSet:
    """The code set in force for ``jurisdiction`` on ``day``.

    England: england-2006 up to 2024-08-18, england-2024 from 2024-08-19 (SI 2024/208, in force
    19 August 2024; legal-rules.md §3.1). Wales: wales-2010 from 2010-09-01 (legal-rules.md §2.1).
    Raises UnknownCodeSetError when no set is in force (e.g. Wales before 2010-09-01).
    """
    if isinstance(day, dt.datetime):
        # A datetime is a date subclass, but comparing it with dates raises; the register is by day.
        raise TypeError("code_set_for takes a date, not a datetime")
    try:
        wanted = Jurisdiction(jurisdiction)
    except ValueError as exc:
        raise UnknownCodeSetError(f"unknown jurisdiction {jurisdiction!r}") from exc
    for code_set in all_code_sets():
        if code_set.jurisdiction is wanted and code_set.in_force(day):
            return code_set
    raise UnknownCodeSetError(
        f"no {wanted.value} attendance code set is in force on {day.isoformat()}"
    )


def lookup_code(jurisdiction: Jurisdiction | str, day: dt.date, code: str) -> CodeDefinition:
    """The definition of statutory ``code`` in the set in force for ``jurisdiction`` on ``day``.

    Codes are matched exactly (case-sensitive: "n" is not "N"). A mark with a code outside the
    set in force for its setting and date is rejected (DESIGN.md §3): raises CodeNotInForce, or
    UnknownCodeSetError when no set is in force at all.
    """
    code_set = code_set_for(jurisdiction, day)
    definition = code_set.codes.get(code)
    if definition is None:
        raise CodeNotInForce(code, code_set.id, day)
    return definition


# --- Categories ----------------------------------------------------------------------------------


def is_absence(definition: CodeDefinition) -> bool:
    """Authorised or unauthorised absence (not-counted codes are not absences)."""
    return definition.category in ABSENCE_CATEGORIES


def is_attendance(definition: CodeDefinition) -> bool:
    """Present, or approved educational activity (which counts as attendance)."""
    return definition.category in ATTENDANCE_CATEGORIES


def codes_in(code_set: CodeSet, *categories: CodeCategory) -> frozenset[str]:
    """The codes of ``code_set`` whose category is one of ``categories``."""
    wanted = frozenset(categories)
    return frozenset(
        code for code, definition in code_set.codes.items() if definition.category in wanted
    )


# --- Local (MIS) codes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalCodeMap:
    """A school's local MIS codes mapped to statutory codes.

    SIMS gives each local code a ``Statutory_Return_Code``, and the MIS converts local codes to
    statutory ones on return (legal-rules.md §2.1; DESIGN.md §4). ``entries`` maps local code to
    statutory code; matching is exact (case-sensitive).

    With ``code_set`` given, the map is checked against it on construction, and a code with no
    local entry that is itself a statutory code of that set maps to itself (schools use most
    statutory codes unchanged). An explicit local entry always wins over that passthrough.
    Without ``code_set`` there is no passthrough: only listed local codes map.
    """

    entries: Mapping[str, str]
    code_set: CodeSet | None = None

    def __post_init__(self) -> None:
        frozen = MappingProxyType(dict(self.entries))
        for local, statutory in frozen.items():
            if not local or not statutory:
                raise InvalidLocalCodeMap(
                    f"empty code in local code map entry {local!r} -> {statutory!r}"
                )
        object.__setattr__(self, "entries", frozen)
        if self.code_set is not None:
            outside = self.validate_against(self.code_set)
            if outside:
                listed = ", ".join(f"{local!r} -> {code!r}" for local, code in outside.items())
                raise InvalidLocalCodeMap(
                    f"local codes map to statutory codes not in {self.code_set.id}: {listed}"
                )

    def __hash__(self) -> int:
        # The entries are a read-only view, so hash their items (the code set by its id).
        return hash((frozenset(self.entries.items()), self.code_set.id if self.code_set else None))

    @classmethod
    def build(
        cls,
        pairs: Mapping[str, str] | Iterable[tuple[str, str]],
        code_set: CodeSet | None = None,
    ) -> LocalCodeMap:
        """A map from ``(local, statutory)`` pairs or a dict.

        A local code listed twice with the same statutory code is accepted; with two different
        statutory codes it is ambiguous and raises InvalidLocalCodeMap.
        """
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        entries: dict[str, str] = {}
        for local, statutory in items:
            previous = entries.setdefault(local, statutory)
            if previous != statutory:
                raise InvalidLocalCodeMap(
                    f"local code {local!r} maps to both {previous!r} and {statutory!r}"
                )
        return cls(entries, code_set)

    def to_statutory(self, local: str) -> str:
        """The statutory code for ``local``; raises UnmappedLocalCode when there is none."""
        statutory = self.entries.get(local)
        if statutory is not None:
            return statutory
        if self.code_set is not None and local in self.code_set.codes:
            return local
        raise UnmappedLocalCode(local, self.code_set.id if self.code_set else None)

    def validate_against(self, code_set: CodeSet) -> Mapping[str, str]:
        """The entries whose statutory code is not in ``code_set`` (empty when all are).

        Returns rather than raises, so a check can list every problem at once; e.g. a school's
        map still sending J after England's 2024 set replaced it with J1.
        """
        return MappingProxyType(
            {
                local: statutory
                for local, statutory in self.entries.items()
                if statutory not in code_set.codes
            }
        )
