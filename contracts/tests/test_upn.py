"""UPN check letters: DfE "Unique Pupil Numbers" algorithm (weights 2-13, modulo 23)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub_contracts import UpnError, check_letter, is_temporary, make_upn, validate_upn
from hub_contracts.upn import CHECK_ALPHABET


def _by_hand(body: str) -> str:
    # Worked independently of the module: sum(value * weight) for weights 2..13, mod 23.
    values = [int(c) if c.isdigit() else "ABCDEFGHJKLMNPQRTUVWXYZ".index(c) for c in body]
    return "ABCDEFGHJKLMNPQRTUVWXYZ"[
        sum(v * w for v, w in zip(values, range(2, 14), strict=True)) % 23
    ]


@pytest.mark.parametrize(
    ("upn", "valid"),
    [
        # 8*2+2*3+0*4+2*5+0*6+0*7+1*8+0*9+1*10+0*11+0*12+1*13 = 63; 63 % 23 = 17 -> "U"
        pytest.param("U820200101001", True, id="valid: worked example sum 63 mod 23 = 17 -> U"),
        pytest.param("A820200101001", False, id="wrong check letter"),
        pytest.param("U000000000000", False, id="all zeros gives A, not U"),
        pytest.param("A000000000000", True, id="all zeros: sum 0 -> A"),
        pytest.param("u820200101001", False, id="lower-case check letter"),
        pytest.param("U82020010100", False, id="12 characters"),
        pytest.param("U8202001010011", False, id="14 characters"),
        pytest.param("U82020010X001", False, id="letter inside the digits"),
        pytest.param("I820200101001", False, id="I is not a check letter"),
    ],
)
def test_validate_upn(upn: str, valid: bool) -> None:
    if valid:
        assert validate_upn(upn) == upn
    else:
        with pytest.raises(UpnError):
            validate_upn(upn)


def test_worked_example_matches_hand_calculation() -> None:
    assert check_letter("820200101001") == _by_hand("820200101001") == "U"


@pytest.mark.parametrize(
    ("body", "temporary"),
    [
        pytest.param("82020010100A", True, id="temporary UPN ends in a letter (A=0)"),
        pytest.param("82020010100Z", True, id="temporary UPN ends in Z (=22)"),
        pytest.param("820200101001", False, id="permanent UPN ends in a digit"),
    ],
)
def test_temporary_upn(body: str, temporary: bool) -> None:
    upn = make_upn(body)
    assert upn[0] == _by_hand(body)
    assert validate_upn(upn) == upn
    assert is_temporary(upn) is temporary


@pytest.mark.parametrize("letter", ["I", "O", "S"])
def test_temporary_upn_rejects_excluded_letters(letter: str) -> None:
    with pytest.raises(UpnError, match="not used"):
        validate_upn("A82020010100" + letter)


@given(
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.sampled_from(CHECK_ALPHABET + "0123456789"),
)
def test_every_generated_upn_validates_and_one_wrong_letter_fails(digits: str, last: str) -> None:
    upn = make_upn(digits + last)
    assert validate_upn(upn) == upn
    wrong = next(c for c in CHECK_ALPHABET if c != upn[0])
    with pytest.raises(UpnError, match="check letter"):
        validate_upn(wrong + upn[1:])
