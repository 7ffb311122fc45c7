"""Documentation that is generated must match its source; links must resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.api import reference as api_reference
from hub.rules import reference as rules_reference
from hub.settings_reference import BEGIN, END, render

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_generated_from_the_settings_model() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == render(), "docs/configuration.md is stale: run `make docs`"


def test_rules_reference_is_generated_from_the_rule_code() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert text == rules_reference.render(), "docs/rules.md is stale: run `make docs`"


def test_api_reference_is_generated_from_the_openapi_document() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert text == api_reference.render(), "docs/api.md is stale: run `make docs`"
    assert "## POST `/v1/marks`" in text
    assert "## POST `/v1/roll-deletions`" in text


def test_rules_reference_lists_every_code_with_its_source() -> None:
    text = rules_reference.render()
    assert "### wales-2010 (wales, 2010-09-01 to —)" in text
    assert "| `N` | unauthorised | yes | no |" in text
    assert "UNVERIFIED" in text


@pytest.mark.parametrize(
    "doc", sorted(str(p.relative_to(ROOT)) for p in [ROOT / "README.md", *ROOT.glob("docs/*.md")])
)
def test_relative_links_resolve(doc: str) -> None:
    path = ROOT / doc
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{doc}: broken link to {target}"
