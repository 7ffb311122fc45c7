"""Attendance code sets: the data files against the research tables, selection, local codes.

The expected rows below are copied from /work/shared/research/legal-rules.md §7.1 (and §2.2 for
the Welsh D choice), not read back from the data files, so a wrong data file fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.rules.codes import (
    ABSENCE_CATEGORIES,
    CodeNotInForce,
    InvalidCodeSetFile,
    InvalidLocalCodeMap,
    LocalCodeMap,
    UnknownCodeSetError,
    UnmappedLocalCode,
    all_code_sets,
    code_set_for,
    code_set_ids,
    codes_in,
    is_absence,
    is_attendance,
    load_code_set,
    lookup_code,
    ordered_code_sets,
)
from hub_contracts import CodeCategory, CodeDefinition, CodeSet, Jurisdiction

PRESENT = CodeCategory.PRESENT
AEA = CodeCategory.AEA
AUTH = CodeCategory.AUTHORISED
UNAUTH = CodeCategory.UNAUTHORISED
NOT_COUNTED = CodeCategory.NOT_COUNTED


class Row(NamedTuple):
    code_set_id: str
    code: str
    category: CodeCategory
    counts_as_possible: bool
    physically_present: bool
    unverified: bool
    citation: str


def _row(
    code_set_id: str,
    code: str,
    category: CodeCategory,
    possible: bool,
    citation: str,
    *,
    unverified: bool = False,
) -> Row:
    # / \ and L are physical presence at the registering school (reg 10 Table 1); so is U (arrived
    # after the register closed: an unauthorised absence, but on site). AEA codes (B, J, K, P, V,
    # W) and D are off site.
    physically_present = category is PRESENT or code == "U"
    return Row(code_set_id, code, category, possible, physically_present, unverified, citation)


# legal-rules.md §7.1, ENG-2024 rows (SI 2024/208 reg 10).
E24 = "england-2024"
ENGLAND_2024 = [
    _row(E24, "/", PRESENT, True, "reg10 T1 V"),
    _row(E24, "\\", PRESENT, True, "reg10 T1 V"),
    _row(E24, "L", PRESENT, True, "reg10 T1 V"),
    _row(E24, "K", AEA, True, "reg10 T2 V"),
    _row(E24, "V", AEA, True, "reg10 T2 V"),
    _row(E24, "P", AEA, True, "reg10 T2 V"),
    _row(E24, "W", AEA, True, "reg10 T2 S"),
    _row(E24, "B", AEA, True, "reg10 T2 S"),
    _row(E24, "D", NOT_COUNTED, False, "2024 wording U", unverified=True),
    _row(E24, "C1", AUTH, True, "leave S"),
    _row(E24, "M", AUTH, True, "leave S"),
    _row(E24, "J1", AUTH, True, "reg11(4) S"),
    _row(E24, "S", AUTH, True, "reg11(5) S"),
    _row(E24, "X", NOT_COUNTED, False, "not required S"),
    _row(E24, "C2", AUTH, True, "reg11(6) S"),
    _row(E24, "C", AUTH, True, "leave S"),
    _row(E24, "T", AUTH, True, "S-U", unverified=True),
    _row(E24, "R", AUTH, True, "S"),
    _row(E24, "I", AUTH, True, "S"),
    _row(E24, "E", AUTH, True, "S-U", unverified=True),
    _row(E24, "Q", NOT_COUNTED, False, "possible no(U)", unverified=True),
    *(
        _row(E24, f"Y{n}", NOT_COUNTED, False, "possible no(U)", unverified=True)
        for n in range(1, 8)
    ),
    _row(E24, "G", UNAUTH, True, "S"),
    _row(E24, "N", UNAUTH, True, "reg10(7) S"),
    _row(E24, "O", UNAUTH, True, "S"),
    _row(E24, "U", UNAUTH, True, "S"),
    _row(E24, "Z", NOT_COUNTED, False, "administrative S"),
    _row(E24, "#", NOT_COUNTED, False, "administrative S"),
]

# legal-rules.md §7.1, ENG-pre2024 rows (DfE attendance-API stub, §3.4).
E06 = "england-2006"
ENGLAND_2006 = [
    _row(E06, "/", PRESENT, True, "DfE stub V"),
    _row(E06, "\\", PRESENT, True, "DfE stub V"),
    _row(E06, "L", PRESENT, True, "DfE stub V"),
    _row(E06, "B", AEA, True, "DfE stub V"),
    _row(E06, "J", AEA, True, "DfE stub V"),
    _row(E06, "P", AEA, True, "DfE stub V"),
    _row(E06, "V", AEA, True, "DfE stub V"),
    _row(E06, "W", AEA, True, "DfE stub V"),
    _row(E06, "C", AUTH, True, "DfE stub V"),
    _row(E06, "E", AUTH, True, "DfE stub V"),
    _row(E06, "F", AUTH, True, "redundant 2013 S"),
    _row(E06, "H", AUTH, True, "DfE stub V"),
    _row(E06, "I", AUTH, True, "DfE stub V"),
    _row(E06, "M", AUTH, True, "DfE stub V"),
    _row(E06, "R", AUTH, True, "DfE stub V"),
    _row(E06, "S", AUTH, True, "DfE stub V"),
    _row(E06, "T", AUTH, True, "DfE stub V"),
    _row(E06, "G", UNAUTH, True, "DfE stub V"),
    _row(E06, "N", UNAUTH, True, "DfE stub V"),
    _row(E06, "O", UNAUTH, True, "DfE stub V"),
    _row(E06, "U", UNAUTH, True, "DfE stub V"),
    _row(E06, "D", NOT_COUNTED, False, "DfE stub V"),
    _row(E06, "X", NOT_COUNTED, False, "DfE stub V-S"),
    _row(E06, "Y", NOT_COUNTED, False, "DfE stub V"),
    _row(E06, "Z", NOT_COUNTED, False, "DfE stub V"),
    _row(E06, "#", NOT_COUNTED, False, "DfE stub V"),
]

# legal-rules.md §7.1, WAL-2010 rows: every one marked U (the WG list was not retrieved, §2.2).
W10 = "wales-2010"
WALES_2010 = [
    _row(W10, code, category, possible, cite, unverified=True)
    for code, category, possible, cite in [
        ("/", PRESENT, True, "U"),
        ("\\", PRESENT, True, "U"),
        ("L", PRESENT, True, "U"),
        ("B", AEA, True, "U"),
        # §2.2: D not counted in possible sessions at the enrolling school (UNVERIFIED for Wales).
        ("D", NOT_COUNTED, False, "s2.2 not counted U"),
        ("J", AEA, True, "U"),
        ("P", AEA, True, "U"),
        ("V", AEA, True, "U"),
        ("W", AEA, True, "U"),
        ("C", AUTH, True, "U"),
        ("E", AUTH, True, "U"),
        ("F", AUTH, True, "reg7(4) U"),
        ("H", AUTH, True, "reg7(3) U"),
        ("I", AUTH, True, "U"),
        ("M", AUTH, True, "U"),
        ("R", AUTH, True, "U"),
        ("S", AUTH, True, "U"),
        ("T", AUTH, True, "U"),
        ("G", UNAUTH, True, "U"),
        ("N", UNAUTH, True, "U"),
        ("O", UNAUTH, True, "U"),
        ("U", UNAUTH, True, "U"),
        ("X", NOT_COUNTED, False, "U"),
        ("Y", NOT_COUNTED, False, "U"),
        ("Z", NOT_COUNTED, False, "U"),
        ("#", NOT_COUNTED, False, "U"),
    ]
]

ALL_ROWS = ENGLAND_2024 + ENGLAND_2006 + WALES_2010
EXPECTED_IDS = (E06, E24, W10)


def _param(row: Row) -> object:
    return pytest.param(row, id=f"{row.code_set_id}:{row.code} {row.citation} legal-rules 7.1")


# --- The data files ---------------------------------------------------------------------------


@pytest.mark.parametrize("row", [_param(row) for row in ALL_ROWS])
def test_code_row_matches_research_table(row: Row) -> None:
    definition = load_code_set(row.code_set_id).codes[row.code]
    assert definition.category is row.category
    assert definition.counts_as_possible is row.counts_as_possible
    assert definition.physically_present is row.physically_present


@pytest.mark.parametrize("row", [_param(row) for row in ALL_ROWS])
def test_code_row_source_flags_unverified(row: Row) -> None:
    source = load_code_set(row.code_set_id).codes[row.code].source
    assert source is not None
    assert source.startswith("UNVERIFIED") is row.unverified
    assert "legal-rules.md §7.1" in source


@pytest.mark.parametrize(
    ("code_set_id", "rows"),
    [
        pytest.param(E24, ENGLAND_2024, id="england-2024 has exactly the legal-rules 7.1 codes"),
        pytest.param(E06, ENGLAND_2006, id="england-2006 has exactly the legal-rules 7.1 codes"),
        pytest.param(W10, WALES_2010, id="wales-2010 has exactly the legal-rules 7.1 codes"),
    ],
)
def test_code_set_has_exactly_the_table_codes(code_set_id: str, rows: list[Row]) -> None:
    assert set(load_code_set(code_set_id).codes) == {row.code for row in rows}
    assert len(rows) == len({row.code for row in rows})


@pytest.mark.parametrize(
    ("code_set_id", "jurisdiction", "effective_from", "effective_to"),
    [
        pytest.param(W10, Jurisdiction.WALES, dt.date(2010, 9, 1), None, id="wales-2010 regs"),
        pytest.param(
            E06,
            Jurisdiction.ENGLAND,
            dt.date(2006, 9, 1),
            dt.date(2024, 8, 18),
            id="england-2006 until SI 2024-208",
        ),
        pytest.param(
            E24, Jurisdiction.ENGLAND, dt.date(2024, 8, 19), None, id="england-2024 SI 2024-208"
        ),
    ],
)
def test_code_set_header(
    code_set_id: str,
    jurisdiction: Jurisdiction,
    effective_from: dt.date,
    effective_to: dt.date | None,
) -> None:
    code_set = load_code_set(code_set_id)
    assert code_set.id == code_set_id
    assert code_set.jurisdiction is jurisdiction
    assert code_set.effective_from == effective_from
    assert code_set.effective_to == effective_to


def test_packaged_data_files_are_exactly_the_three_sets() -> None:
    names = {entry.name for entry in resources.files("hub.rules.codesets").iterdir()}
    assert {name for name in names if name.endswith(".toml")} == {
        f"{code_set_id}.toml" for code_set_id in EXPECTED_IDS
    }
    assert code_set_ids() == EXPECTED_IDS
    assert tuple(code_set.id for code_set in all_code_sets()) == EXPECTED_IDS


@pytest.mark.parametrize("code_set_id", EXPECTED_IDS)
def test_data_file_validates_and_every_row_is_described(code_set_id: str) -> None:
    text = resources.files("hub.rules.codesets").joinpath(f"{code_set_id}.toml").read_text("utf-8")
    code_set = CodeSet.model_validate_json(load_code_set(code_set_id).model_dump_json())
    assert code_set == load_code_set(code_set_id)
    assert "description_cy: the project's own Welsh translation, UNVERIFIED" in text
    for definition in code_set.codes.values():
        assert definition.description_en.strip()
        assert definition.description_cy.strip()


_TABLE = re.compile(r"^\[codes\.(?P<key>\S+)\]\s*$", re.MULTILINE)


@pytest.mark.parametrize("code_set_id", EXPECTED_IDS)
def test_unverified_comment_and_source_agree_in_data_file(code_set_id: str) -> None:
    # A row whose TOML table carries an "# UNVERIFIED" comment must have an UNVERIFIED source,
    # and the reverse: the comment is for readers of the file, the source for operators.
    text = resources.files("hub.rules.codesets").joinpath(f"{code_set_id}.toml").read_text("utf-8")
    matches = list(_TABLE.finditer(text))
    assert matches
    code_set = load_code_set(code_set_id)
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        body = text[match.end() : following.start() if following else len(text)]
        code = match["key"].strip("\"'")
        source = code_set.codes[code].source or ""
        has_comment = "# UNVERIFIED" in body
        assert has_comment is source.startswith("UNVERIFIED"), code


# --- Selection by jurisdiction and date -----------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "day", "expected"),
    [
        pytest.param("england", dt.date(2006, 9, 1), E06, id="england 2006 regs first day"),
        pytest.param("england", dt.date(2024, 8, 18), E06, id="england day before SI 2024-208"),
        pytest.param(
            Jurisdiction.ENGLAND, dt.date(2024, 8, 19), E24, id="england SI 2024-208 in force"
        ),
        pytest.param("england", dt.date(2031, 1, 6), E24, id="england 2024 set open-ended"),
        pytest.param("wales", dt.date(2010, 9, 1), W10, id="wales 2010 regs first day"),
        pytest.param(Jurisdiction.WALES, dt.date(2025, 1, 6), W10, id="wales 2010 set today"),
    ],
)
def test_code_set_for(jurisdiction: Jurisdiction | str, day: dt.date, expected: str) -> None:
    assert code_set_for(jurisdiction, day).id == expected


@pytest.mark.parametrize(
    ("jurisdiction", "day", "message"),
    [
        pytest.param(
            "wales",
            dt.date(2010, 8, 31),
            "no wales attendance code set is in force on 2010-08-31",
            id="wales before 2010 regs",
        ),
        pytest.param(
            "england",
            dt.date(2006, 8, 31),
            "no england attendance code set is in force on 2006-08-31",
            id="england before 2006 regs",
        ),
        pytest.param(
            "scotland", dt.date(2025, 1, 6), "unknown jurisdiction 'scotland'", id="not ours"
        ),
    ],
)
def test_code_set_for_none_in_force(jurisdiction: str, day: dt.date, message: str) -> None:
    with pytest.raises(UnknownCodeSetError, match=re.escape(message)):
        code_set_for(jurisdiction, day)


def test_code_set_for_rejects_datetime() -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        code_set_for("wales", dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC))


def test_load_unknown_code_set() -> None:
    with pytest.raises(UnknownCodeSetError, match="no code set 'wales-2026'; known code sets"):
        load_code_set("wales-2026")


# --- Code lookup ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "day", "code", "category"),
    [
        pytest.param("england", dt.date(2024, 8, 19), "K", AEA, id="england-2024:K reg10 T2"),
        pytest.param("england", dt.date(2024, 8, 18), "J", AEA, id="england-2006:J AEA pre-2024"),
        pytest.param("england", dt.date(2024, 8, 19), "J1", AUTH, id="england-2024:J1 reg11(4)"),
        pytest.param("wales", dt.date(2025, 1, 6), "H", AUTH, id="wales-2010:H reg7(3)"),
    ],
)
def test_lookup_code(jurisdiction: str, day: dt.date, code: str, category: CodeCategory) -> None:
    assert lookup_code(jurisdiction, day, code).category is category


@pytest.mark.parametrize(
    ("jurisdiction", "day", "code", "message"),
    [
        pytest.param(
            "wales",
            dt.date(2025, 1, 6),
            "K",
            "code 'K' is not in code set wales-2010 in force on 2025-01-06",
            id="K is England-only",
        ),
        pytest.param(
            "england",
            dt.date(2024, 8, 19),
            "H",
            "code 'H' is not in code set england-2024 in force on 2024-08-19",
            id="H removed by SI 2024-208",
        ),
        pytest.param(
            "england",
            dt.date(2024, 8, 18),
            "C1",
            "code 'C1' is not in code set england-2006 in force on 2024-08-18",
            id="C1 not before SI 2024-208",
        ),
        pytest.param(
            "england",
            dt.date(2024, 9, 2),
            "n",
            "code 'n' is not in code set england-2024 in force on 2024-09-02",
            id="codes are case-sensitive",
        ),
    ],
)
def test_code_not_in_force(jurisdiction: str, day: dt.date, code: str, message: str) -> None:
    with pytest.raises(CodeNotInForce, match=re.escape(message)) as caught:
        lookup_code(jurisdiction, day, code)
    assert (caught.value.code, caught.value.day) == (code, day)


# --- Category helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code_set_id", "category", "codes"),
    [
        pytest.param(E24, PRESENT, {"/", "\\", "L"}, id="england-2024 present reg10 T1"),
        pytest.param(E24, AEA, {"K", "V", "P", "W", "B"}, id="england-2024 AEA reg10 T2 less D"),
        pytest.param(E24, UNAUTH, {"G", "N", "O", "U"}, id="england-2024 unauthorised"),
        pytest.param(
            W10,
            AUTH,
            {"C", "E", "F", "H", "I", "M", "R", "S", "T"},
            id="wales-2010 authorised s2.2 MIS table",
        ),
    ],
)
def test_codes_in(code_set_id: str, category: CodeCategory, codes: set[str]) -> None:
    assert codes_in(load_code_set(code_set_id), category) == codes


@pytest.mark.parametrize("row", [_param(row) for row in ALL_ROWS])
def test_is_absence_and_is_attendance(row: Row) -> None:
    definition = load_code_set(row.code_set_id).codes[row.code]
    assert is_absence(definition) is (row.category in {AUTH, UNAUTH})
    assert is_attendance(definition) is (row.category in {PRESENT, AEA})


def test_absence_categories() -> None:
    assert {AUTH, UNAUTH} == ABSENCE_CATEGORIES


def _code_set(code_set_id: str, start: dt.date, end: dt.date | None) -> CodeSet:
    definition = CodeDefinition(
        category=PRESENT,
        physically_present=True,
        counts_as_possible=True,
        description_en="Present",
        description_cy="Yn bresennol",
    )
    return CodeSet(
        id=code_set_id,
        jurisdiction=Jurisdiction.WALES,
        effective_from=start,
        effective_to=end,
        codes={"/": definition},
    )


def test_overlapping_code_sets_are_refused() -> None:
    old = _code_set("wales-2010", dt.date(2010, 9, 1), None)
    new = _code_set("wales-2026", dt.date(2026, 9, 1), None)
    with pytest.raises(InvalidCodeSetFile, match="wales-2010 and wales-2026 are both in force"):
        ordered_code_sets([new, old])
    closed = old.model_copy(update={"effective_to": dt.date(2026, 8, 31)})
    assert [cs.id for cs in ordered_code_sets([new, closed])] == ["wales-2010", "wales-2026"]


# --- Local (MIS) codes ------------------------------------------------------------------------


def test_local_code_mapped() -> None:
    code_map = LocalCodeMap.build([("@", "N"), ("Hol", "G")], load_code_set(E24))
    assert code_map.to_statutory("@") == "N"
    assert code_map.to_statutory("Hol") == "G"


def test_local_entry_wins_over_statutory_passthrough() -> None:
    code_map = LocalCodeMap.build({"L": "U"}, load_code_set(E24))
    assert code_map.to_statutory("L") == "U"


def test_statutory_code_passes_through_only_when_in_the_set() -> None:
    code_map = LocalCodeMap.build({"@": "N"}, load_code_set(E24))
    assert code_map.to_statutory("C1") == "C1"
    with pytest.raises(UnmappedLocalCode, match="'H' has no statutory code mapping and is not"):
        code_map.to_statutory("H")


def test_unmapped_local_code_names_the_code() -> None:
    code_map = LocalCodeMap.build({"@": "N"})
    with pytest.raises(UnmappedLocalCode, match=r"^local code '\?' has no statutory code mapping$"):
        code_map.to_statutory("?")
    with pytest.raises(UnmappedLocalCode, match="'N' has no statutory code mapping"):
        code_map.to_statutory("N")  # no code set: no passthrough


def test_validate_against_lists_entries_outside_the_set() -> None:
    # A school's map still sending J (interview) after SI 2024-208 replaced it with J1.
    code_map = LocalCodeMap.build({"@": "N", "Int": "J"})
    assert dict(code_map.validate_against(load_code_set(E06))) == {}
    assert dict(code_map.validate_against(load_code_set(E24))) == {"Int": "J"}
    with pytest.raises(InvalidLocalCodeMap, match=r"not in england-2024: 'Int' -> 'J'"):
        LocalCodeMap.build({"@": "N", "Int": "J"}, load_code_set(E24))


def test_conflicting_local_entries_are_refused() -> None:
    assert LocalCodeMap.build([("@", "N"), ("@", "N")]).entries == {"@": "N"}
    with pytest.raises(InvalidLocalCodeMap, match="'@' maps to both 'N' and 'O'"):
        LocalCodeMap.build([("@", "N"), ("@", "O")])


def test_local_code_map_is_read_only() -> None:
    source = {"@": "N"}
    code_map = LocalCodeMap(source)
    source["@"] = "O"
    assert code_map.to_statutory("@") == "N"
    assert hash(code_map) == hash(LocalCodeMap.build({"@": "N"}))


@st.composite
def _local_map_case(draw: st.DrawFn) -> tuple[CodeSet, list[tuple[str, str]], str]:
    code_set = draw(st.sampled_from(all_code_sets()))
    statutory = st.sampled_from(sorted(code_set.codes))
    local = st.text(min_size=1, max_size=4)
    pairs = draw(st.lists(st.tuples(local, statutory), max_size=20, unique_by=lambda p: p[0]))
    mapped_locals = [pair[0] for pair in pairs]
    probe = draw(st.sampled_from(mapped_locals) if mapped_locals else statutory)
    return code_set, pairs, probe


@given(_local_map_case())
def test_local_map_always_yields_a_code_in_the_set(
    case: tuple[CodeSet, list[tuple[str, str]], str],
) -> None:
    code_set, pairs, probe = case
    code_map = LocalCodeMap.build(pairs, code_set)
    assert code_map.to_statutory(probe) in code_set.codes
    for local, _ in pairs:
        assert code_map.to_statutory(local) in code_set.codes
    for code in code_set.codes:
        assert code_map.to_statutory(code) in code_set.codes
