"""Regenerate the generated blocks in docs/: `python -m hub.docs_update` (`make docs`)."""

from __future__ import annotations

from pathlib import Path

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


def main() -> int:
    changed = update_configuration_reference()
    print("docs/configuration.md", "updated" if changed else "already current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
