"""The exported JSON Schema files must match the models (regenerate: make schema)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub_contracts import SCHEMA_MODELS
from hub_contracts.schema import render_schemas

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema" / "v1"


@pytest.mark.parametrize("name", sorted(render_schemas()))
def test_exported_schema_is_current(name: str) -> None:
    path = SCHEMA_DIR / name
    assert path.exists(), f"{path} missing: run `make schema`"
    assert path.read_text(encoding="utf-8") == render_schemas()[name], (
        f"{path} is stale: run `make schema`"
    )


def test_no_orphan_schema_files() -> None:
    expected = {f"{stem}.json" for stem in SCHEMA_MODELS}
    assert {p.name for p in SCHEMA_DIR.glob("*.json")} == expected


def test_schemas_forbid_unknown_fields() -> None:
    for name, text in render_schemas().items():
        assert json.loads(text).get("additionalProperties") is False, name
