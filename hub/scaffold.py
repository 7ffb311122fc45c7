"""`hub new-plugin NAME`: generate an adapter plugin distribution that passes the conformance kit.

The templates are package data under `hub/scaffold_templates/` (``*.tmpl``, so linters and test
collectors leave them alone). Placeholders are ``{{key}}`` tokens, replaced literally; a
template with an unknown token is a bug, reported rather than written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from importlib.resources.abc import Traversable
from pathlib import Path

from hub.sdk import ENTRY_POINT_GROUP

__all__ = ["NAME_PATTERN", "ScaffoldError", "generate", "names_for", "validate_name"]

#: A plugin name: lower-case letters, digits and underscores, starting with a letter.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
_TOKEN = re.compile(r"\{\{([A-Za-z_]+)\}\}")
_TEMPLATES = "scaffold_templates"
_PACKAGE_DIR = "package"
_SUFFIX = ".tmpl"


class ScaffoldError(ValueError):
    """Bad input for `hub new-plugin`; the message is one line for the user."""


@dataclass(frozen=True)
class PluginNames:
    name: str  # entry point and adapter name: demo_vendor
    package: str  # import name: hub_demo_vendor
    dist: str  # distribution: attendance-hub-demo-vendor
    class_prefix: str  # DemoVendor
    display: str  # Demo Vendor

    def substitutions(self) -> Mapping[str, str]:
        return {
            "name": self.name,
            "NAME": self.name.upper(),
            "slug": self.name.replace("_", "-"),
            "package": self.package,
            "dist": self.dist,
            "Class": self.class_prefix,
            "display": self.display,
        }


def names_for(name: str) -> PluginNames:
    parts = [part for part in name.split("_") if part]
    return PluginNames(
        name=name,
        package=f"hub_{name}",
        dist=f"attendance-hub-{name.replace('_', '-')}",
        class_prefix="".join(part.capitalize() for part in parts),
        display=" ".join(part.capitalize() for part in parts),
    )


def _installed_plugin_names() -> set[str]:
    return {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _distribution_installed(dist: str) -> bool:
    try:
        distribution(dist)
    except PackageNotFoundError:
        return False
    return True


def validate_name(name: str) -> PluginNames:
    """The names derived from `name`, or `ScaffoldError` saying what is wrong with it."""
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"plugin name {name!r} is not a slug: 2-31 characters, lower-case letters, digits "
            "and '_', starting with a letter (e.g. 'acme' or 'acme_mis')"
        )
    if "__" in name or name.endswith("_"):
        raise ScaffoldError(f"plugin name {name!r}: no doubled or trailing '_'")
    names = names_for(name)
    if name in _installed_plugin_names():
        raise ScaffoldError(
            f"a plugin named {name!r} is already installed (see `hub plugins list`); "
            "choose another name"
        )
    if _distribution_installed(names.dist):
        raise ScaffoldError(f"the distribution {names.dist} is already installed")
    return names


def _templates() -> Traversable:
    return resources.files("hub").joinpath(_TEMPLATES)


def _walk(node: Traversable, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    for child in sorted(node.iterdir(), key=lambda item: item.name):
        if child.name == "__pycache__":
            continue
        if child.is_dir():
            yield from _walk(child, (*prefix, child.name))
        else:
            yield (*prefix, child.name), child.read_text(encoding="utf-8")


def render(text: str, substitutions: Mapping[str, str], *, where: str = "template") -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            raise KeyError(f"{where}: unknown placeholder {{{{{key}}}}}")
        return substitutions[key]

    return _TOKEN.sub(replace, text)


def generate(name: str, target: Path | None = None) -> tuple[Path, list[Path]]:
    """Write the plugin distribution for `name` into `target` (default:
    ``./attendance-hub-NAME``); return the directory and the files written, relative to it.

    `ScaffoldError` for a bad name or an existing `target`; nothing is written then.
    """
    names = validate_name(name)
    directory = target if target is not None else Path.cwd() / names.dist
    if directory.exists():
        raise ScaffoldError(f"{directory} already exists; choose another --dir")
    substitutions = names.substitutions()
    rendered: list[tuple[Path, str]] = []
    for parts, text in _walk(_templates()):
        relative = Path(*(names.package if p == _PACKAGE_DIR else p for p in parts))
        if relative.name.endswith(_SUFFIX):
            relative = relative.with_name(relative.name[: -len(_SUFFIX)])
        rendered.append((relative, render(text, substitutions, where="/".join(parts))))
    directory.mkdir(parents=True)
    for relative, text in rendered:
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory, [relative for relative, _ in rendered]
