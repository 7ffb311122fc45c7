"""Unique Pupil Number (UPN) check-letter validation.

DfE "Unique Pupil Numbers (UPN)" guidance, also used in Wales: a UPN is 13 characters,
a check letter followed by 12 characters (LA number, establishment number, year, serial).
Characters 2-13 are weighted 2-13, the weighted sum is taken modulo 23 and the remainder
indexes the check alphabet. A *temporary* UPN ends in a letter, which takes its index in
the same alphabet as its value.
"""

from __future__ import annotations

import re
from functools import lru_cache

CHECK_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_SHAPE = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")


class UpnError(ValueError):
    """A UPN failed validation; the message says why."""


def check_letter(body: str) -> str:
    """Return the check letter for the 12 characters that follow it."""
    if len(body) != 12:
        raise UpnError(f"expected 12 characters after the check letter, got {len(body)}")
    total = 0
    for weight, char in enumerate(body, start=2):
        if char.isdigit():
            value = int(char)
        elif char in CHECK_ALPHABET and weight == 13:
            value = CHECK_ALPHABET.index(char)
        else:
            raise UpnError(f"character {weight} ({char!r}) is not allowed in a UPN")
        total += value * weight
    return CHECK_ALPHABET[total % 23]


def is_temporary(upn: str) -> bool:
    """A temporary UPN has a letter in position 13."""
    return len(upn) == 13 and upn[-1].isalpha()


def validate_upn(upn: str) -> str:
    """Return the UPN if valid, else raise `UpnError` with a plain reason."""
    # The same few thousand learners recur on every page of marks: a valid UPN is remembered
    # (an invalid one is not cached: lru_cache does not keep exceptions, so it is re-checked).
    return _valid_upn(upn)


@lru_cache(maxsize=65_536)
def _valid_upn(upn: str) -> str:
    if len(upn) != 13:
        raise UpnError(f"a UPN has 13 characters, got {len(upn)}")
    if not _SHAPE.match(upn):
        raise UpnError(
            "a UPN is a capital check letter, 11 digits, then a digit "
            "(or a letter for a temporary UPN)"
        )
    last = upn[-1]
    if last.isalpha() and last not in CHECK_ALPHABET:
        raise UpnError(f"letter {last!r} is not used in UPNs (I, O and S are excluded)")
    expected = check_letter(upn[1:])
    if upn[0] != expected:
        raise UpnError(f"check letter is {upn[0]!r} but the digits give {expected!r}")
    return upn


def make_upn(body: str) -> str:
    """Prefix `body` (12 characters) with its check letter. For synthetic data and tests."""
    return check_letter(body) + body
