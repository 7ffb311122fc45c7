"""Fixtures that simulate plugins without installing distributions."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from importlib.metadata import EntryPoint

import pytest

from hub.sdk import ENTRY_POINT_GROUP

FakePlugin = Callable[..., EntryPoint]


@pytest.fixture
def fake_plugin(monkeypatch: pytest.MonkeyPatch) -> FakePlugin:
    """Build an importable plugin module from keyword attributes and return its entry point.

    `fake_plugin("acme", hub_register_adapters=func)` creates module `fake_hub_plugin_acme` in
    `sys.modules` (removed after the test) and `EntryPoint("acme", "fake_hub_plugin_acme")`.
    """

    def build(name: str, **attributes: object) -> EntryPoint:
        module_name = f"fake_hub_plugin_{name.replace('-', '_')}"
        module = types.ModuleType(module_name)
        for attribute, value in attributes.items():
            setattr(module, attribute, value)
        monkeypatch.setitem(sys.modules, module_name, module)
        return EntryPoint(name=name, value=module_name, group=ENTRY_POINT_GROUP)

    return build
