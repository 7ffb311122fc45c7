"""Regenerate the generated blocks in docs/: `python -m hub.docs_update` (`make docs`)."""

from __future__ import annotations

from pathlib import Path

from hub.api import reference as api_reference
from hub.rules import reference as rules_reference
from hub.settings_reference import BEGIN, END, render

ROOT = Path(__file__).resolve().parents[1]


def update_configuration_reference(path: Path = ROOT / "docs" / "configuration.md") -> bool:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + render() + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def update_rules_reference(path: Path = ROOT / "docs" / "rules.md") -> bool:
    new = rules_reference.render()
    if path.exists() and path.read_text(encoding="utf-8") == new:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def update_api_reference(path: Path = ROOT / "docs" / "api.md") -> bool:
    new = api_reference.render()
    if path.exists() and path.read_text(encoding="utf-8") == new:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main() -> int:
    for name, changed in (
        ("docs/configuration.md", update_configuration_reference()),
        ("docs/rules.md", update_rules_reference()),
        ("docs/api.md", update_api_reference()),
    ):
        print(name, "updated" if changed else "already current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
