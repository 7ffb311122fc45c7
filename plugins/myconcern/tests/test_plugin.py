"""Packaging, registration and configuration of the myconcern plugin."""

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
    check_adapter_class,
    config_json_schema,
    secret_fields,
)
from hub_myconcern import plugin
from hub_myconcern.adapter import MyConcernAdapter, MyConcernConfig

DECLARED = {
    Capability.RAISE_CONCERN,
    Capability.READ_CONCERN_STATUS,
}
SYNTHETIC_CONFIG: dict[str, object] = dict(
    base_url="http://127.0.0.1:9/api", api_token="synthetic-token"
)


class NoNetwork:
    """An HttpClient that fails the test if the adapter touches the network."""

    async def request(self, method: str, url: str, **kwargs: object) -> HttpResponse:
        raise AssertionError(f"unexpected request {method} {url}")


def test_entry_point_is_discoverable() -> None:
    (ep,) = entry_points(group=ENTRY_POINT_GROUP, name="myconcern")
    assert ep.value == "hub_myconcern.plugin"
    assert ep.dist is not None
    assert ep.dist.name == "attendance-hub-myconcern"
    assert ep.load() is plugin


def test_hook_registers_the_adapter() -> None:
    registry = AdapterRegistry()
    plugin.hub_register_adapters(registry)
    assert dict(registry) == {"myconcern": MyConcernAdapter}


def test_manifest_is_valid_and_declares_the_vendor_capabilities() -> None:
    manifest = check_adapter_class(MyConcernAdapter)
    assert manifest.name == "myconcern"
    assert manifest.plugin_api_version == PLUGIN_API_VERSION
    assert manifest.capabilities == DECLARED
    assert manifest.config_model is MyConcernConfig


def test_config_secrets_are_secret_and_write_only() -> None:
    secrets = set(secret_fields(MyConcernConfig))
    assert secrets == {"api_token"}
    properties = config_json_schema(MyConcernConfig)["properties"]
    assert all(properties[name]["writeOnly"] is True for name in secrets)
    config = MyConcernConfig.model_validate(SYNTHETIC_CONFIG)
    for name in secrets:
        assert str(SYNTHETIC_CONFIG[name]) not in repr(config)


def test_config_refuses_unknown_keys() -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        MyConcernConfig.model_validate({**SYNTHETIC_CONFIG, "base_ulr": "http://typo"})


def test_config_categories_merge_over_the_defaults() -> None:
    config = MyConcernConfig.model_validate(
        {**SYNTHETIC_CONFIG, "categories": {"children_missing_education": "CME"}}
    )
    adapter = MyConcernAdapter(config, NoNetwork(), connection_name="synthetic-myconcern")
    assert adapter.categories["children_missing_education"] == "CME"
    assert adapter.categories["safeguarding_alert"] == "Attendance"
    assert config.http_timeout is None


def test_vendor_fields_with_pupil_data_are_masked_in_logs() -> None:
    fields = set(plugin.hub_sensitive_fields())
    assert fields == set(plugin.SENSITIVE_FIELDS)
    assert all(isinstance(name, str) and name for name in fields)
