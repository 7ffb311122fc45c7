"""Packaging, registration and configuration of the cpoms plugin."""

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
from hub_cpoms import plugin
from hub_cpoms.adapter import CpomsAdapter, CpomsConfig

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
    (ep,) = entry_points(group=ENTRY_POINT_GROUP, name="cpoms")
    assert ep.value == "hub_cpoms.plugin"
    assert ep.dist is not None
    assert ep.dist.name == "attendance-hub-cpoms"
    assert ep.load() is plugin


def test_hook_registers_the_adapter() -> None:
    registry = AdapterRegistry()
    plugin.hub_register_adapters(registry)
    assert dict(registry) == {"cpoms": CpomsAdapter}


def test_manifest_is_valid_and_declares_the_vendor_capabilities() -> None:
    manifest = check_adapter_class(CpomsAdapter)
    assert manifest.name == "cpoms"
    assert manifest.plugin_api_version == PLUGIN_API_VERSION
    assert manifest.capabilities == DECLARED
    assert manifest.config_model is CpomsConfig


def test_config_secrets_are_secret_and_write_only() -> None:
    secrets = set(secret_fields(CpomsConfig))
    assert secrets == {"api_token"}
    properties = config_json_schema(CpomsConfig)["properties"]
    assert all(properties[name]["writeOnly"] is True for name in secrets)
    config = CpomsConfig.model_validate(SYNTHETIC_CONFIG)
    for name in secrets:
        assert str(SYNTHETIC_CONFIG[name]) not in repr(config)


def test_config_refuses_unknown_keys() -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        CpomsConfig.model_validate({**SYNTHETIC_CONFIG, "base_ulr": "http://typo"})


def test_config_categories_merge_over_the_defaults() -> None:
    config = CpomsConfig.model_validate(
        {**SYNTHETIC_CONFIG, "categories": {"children_missing_education": ["CME"]}}
    )
    adapter = CpomsAdapter(config, NoNetwork(), connection_name="synthetic-cpoms")
    assert adapter.categories["children_missing_education"] == ("CME",)
    assert adapter.categories["safeguarding_alert"] == ("Attendance",)
    assert adapter.flag_categories["looked_after"] == "Looked After Children"
    assert config.http_timeout is None


def test_vendor_fields_with_pupil_data_are_masked_in_logs() -> None:
    fields = set(plugin.hub_sensitive_fields())
    assert fields == set(plugin.SENSITIVE_FIELDS)
    assert all(isinstance(name, str) and name for name in fields)
