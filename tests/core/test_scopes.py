"""Token scopes (DESIGN §5)."""

from __future__ import annotations

import pytest

from hub.scopes import Scope, ScopeError, parse_scope


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("admin", Scope("admin")),
        ("la:672", Scope("la", "672")),
        ("setting:6734012", Scope("setting", "6734012")),
    ],
)
def test_valid_scopes_round_trip(text: str, scope: Scope) -> None:
    assert parse_scope(text) == scope
    assert str(scope) == text


@pytest.mark.parametrize("text", ["", "root", "la:67", "la:6722", "setting:", "admin:1", "LA:672"])
def test_invalid_scopes(text: str) -> None:
    with pytest.raises(ScopeError, match="admin, la:"):
        parse_scope(text)
