"""The hookspec module is the plugin API's single source of truth: names, sync-ness, contracts."""

from __future__ import annotations

import inspect
from typing import get_type_hints

import pluggy
import pytest

from hub.sdk import PROJECT_NAME, hookimpl, hookspecs

HOOKS = {
    "hub_register_adapters": ["registry"],
    "hub_register_notifiers": ["registry"],
    "hub_register_rules": ["registry"],
    "hub_sensitive_fields": [],
}


def _specs() -> dict[str, object]:
    return {
        name: obj
        for name, obj in vars(hookspecs).items()
        if callable(obj) and hasattr(obj, f"{PROJECT_NAME}_spec")
    }


def test_project_name_and_markers() -> None:
    assert PROJECT_NAME == "attendance_hub"
    assert isinstance(hookimpl, pluggy.HookimplMarker)
    assert hookimpl.project_name == "attendance_hub"
    assert hookspecs.hookspec.project_name == "attendance_hub"


def test_exactly_the_documented_hooks_exist() -> None:
    assert set(_specs()) == set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_sync_typed_prefixed_and_documented(name: str) -> None:
    spec = getattr(hookspecs, name)
    assert name.startswith("hub_")
    assert not inspect.iscoroutinefunction(spec)
    assert not inspect.isasyncgenfunction(spec)
    assert list(inspect.signature(spec).parameters) == HOOKS[name]
    hints = get_type_hints(spec, globalns=vars(hookspecs) | _type_names())
    assert "return" in hints
    assert set(hints) == {*HOOKS[name], "return"}
    doc = inspect.getdoc(spec) or ""
    assert "versionadded:: 1.0" in doc
    assert "Return value" in doc


def test_hookspecs_register_with_pluggy() -> None:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in HOOKS:
        assert getattr(pm.hook, name).has_spec()


def _type_names() -> dict[str, object]:
    from collections.abc import Iterable

    from hub.sdk import AdapterRegistry, NotifierRegistry, RulePackRegistry

    return {
        "Iterable": Iterable,
        "AdapterRegistry": AdapterRegistry,
        "NotifierRegistry": NotifierRegistry,
        "RulePackRegistry": RulePackRegistry,
    }
