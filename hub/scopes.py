"""API token scopes (DESIGN §5): `admin`, `la:<la_code>`, `setting:<id>`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_LA = re.compile(r"^la:([0-9]{3})$")
_SETTING = re.compile(r"^setting:([A-Za-z0-9][A-Za-z0-9._:-]{0,63})$")


class ScopeError(ValueError):
    """A scope string is not one of the documented forms."""


@dataclass(frozen=True, slots=True)
class Scope:
    kind: Literal["admin", "la", "setting"]
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def parse_scope(text: str) -> Scope:
    if text == "admin":
        return Scope("admin")
    if m := _LA.match(text):
        return Scope("la", m.group(1))
    if m := _SETTING.match(text):
        return Scope("setting", m.group(1))
    raise ScopeError(
        f"scope {text!r} is not one of: admin, la:<3-digit LA code>, setting:<setting id>"
    )
