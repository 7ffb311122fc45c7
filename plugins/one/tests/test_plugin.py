"""Packaging and registration of the one plugin (the adapter itself arrives in issue #6)."""

from __future__ import annotations

from importlib.metadata import entry_points

import pydantic
import pytest

from hub.sdk import (
    ENTRY_POINT_GROUP,
    PLUGIN_API_VERSION,
    AdapterRegistry,
    Capability,
    HttpResponse,
    PermanentError,
    check_adapter_class,
    config_json_schema,
    secret_fields,
)
from hub_one import plugin
from hub_one.adapter import OneAdapter, OneConfig

DECLARED = {
    Capability.READ_ROLL,
    Capability.READ_PLACEMENTS,
    Capability.SEND_RETURN,
    Capability.SEND_NOTIFICATION,
}
SYNTHETIC_CONFIG: dict[str, object] = dict(
    base_url="http://127.0.0.1:9/one", api_key="synthetic-key", la_code="999"
)


class NoNetwork:
    """An HttpClient that fails the test if the adapter touches the network."""

    async def request(self, method: str, url: str, **kwargs: object) -> HttpResponse:
        raise AssertionError(f"unexpected request {method} {url}")


def test_entry_point_is_discoverable() -> None:
    (ep,) = entry_points(group=ENTRY_POINT_GROUP, name="one")
    assert ep.value == "hub_one.plugin"
    assert ep.dist is not None
    assert ep.dist.name == "attendance-hub-one"
    assert ep.load() is plugin


def test_hook_registers_the_adapter() -> None:
    registry = AdapterRegistry()
    plugin.hub_register_adapters(registry)
    assert dict(registry) == {"one": OneAdapter}


def test_manifest_is_valid_and_declares_the_vendor_capabilities() -> None:
    manifest = check_adapter_class(OneAdapter)
    assert manifest.name == "one"
    assert manifest.plugin_api_version == PLUGIN_API_VERSION
    assert manifest.capabilities == DECLARED
    assert manifest.config_model is OneConfig


def test_config_secrets_are_secret_and_write_only() -> None:
    secrets = set(secret_fields(OneConfig))
    assert secrets == {"api_key"}
    properties = config_json_schema(OneConfig)["properties"]
    assert all(properties[name]["writeOnly"] is True for name in secrets)
    config = OneConfig.model_validate(SYNTHETIC_CONFIG)
    for name in secrets:
        assert str(SYNTHETIC_CONFIG[name]) not in repr(config)


def test_config_refuses_unknown_keys() -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        OneConfig.model_validate({**SYNTHETIC_CONFIG, "base_ulr": "http://typo"})


async def test_adapter_methods_say_they_are_not_implemented_yet() -> None:
    config = OneConfig.model_validate(SYNTHETIC_CONFIG)
    adapter = OneAdapter(config, NoNetwork(), connection_name="synthetic-one")
    with pytest.raises(PermanentError, match=r"not yet implemented \(issue #6\)"):
        await adapter.check()
    with pytest.raises(PermanentError, match=r"not yet implemented \(issue #6\)"):
        await adapter.read_roll(None)
