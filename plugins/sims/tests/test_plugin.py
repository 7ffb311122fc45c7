"""Packaging, registration and configuration of the sims plugin."""

from __future__ import annotations

from importlib.metadata import entry_points

import pydantic
import pytest

from hub.sdk import (
    ENTRY_POINT_GROUP,
    PLUGIN_API_VERSION,
    AdapterRegistry,
    Capability,
    check_adapter_class,
    config_json_schema,
    secret_fields,
)
from hub_sims import plugin
from hub_sims.adapter import SimsAdapter, SimsConfig

DECLARED = {
    Capability.READ_LEARNERS,
    Capability.READ_ROLL,
    Capability.READ_MARKS,
    Capability.WRITE_MARKS,
    Capability.RECEIVE_WEBHOOK,
}
SYNTHETIC_CONFIG: dict[str, object] = dict(
    base_url="http://127.0.0.1:9/ssli01",
    client_id="synthetic-client",
    client_secret="synthetic-secret",
    subscription_key="synthetic-key",
    school_id="6799999",
    webhook_secret="synthetic-webhook-secret",
)


def test_entry_point_is_discoverable() -> None:
    (ep,) = entry_points(group=ENTRY_POINT_GROUP, name="sims")
    assert ep.value == "hub_sims.plugin"
    assert ep.dist is not None
    assert ep.dist.name == "attendance-hub-sims"
    assert ep.load() is plugin


def test_hook_registers_the_adapter() -> None:
    registry = AdapterRegistry()
    plugin.hub_register_adapters(registry)
    assert dict(registry) == {"sims": SimsAdapter}


def test_manifest_is_valid_and_declares_the_vendor_capabilities() -> None:
    manifest = check_adapter_class(SimsAdapter)
    assert manifest.name == "sims"
    assert manifest.plugin_api_version == PLUGIN_API_VERSION
    assert manifest.capabilities == DECLARED
    assert manifest.config_model is SimsConfig


def test_config_secrets_are_secret_and_write_only() -> None:
    secrets = set(secret_fields(SimsConfig))
    assert secrets == {"client_secret", "subscription_key", "webhook_secret"}
    properties = config_json_schema(SimsConfig)["properties"]
    assert all(properties[name]["writeOnly"] is True for name in secrets)
    config = SimsConfig.model_validate(SYNTHETIC_CONFIG)
    for name in secrets:
        assert str(SYNTHETIC_CONFIG[name]) not in repr(config)


def test_config_refuses_unknown_keys() -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        SimsConfig.model_validate({**SYNTHETIC_CONFIG, "base_ulr": "http://typo"})


def test_sensitive_fields_cover_the_credentials() -> None:
    fields = set(plugin.hub_sensitive_fields())
    assert {"client_secret", "subscription_key", "ocp-apim-subscription-key"} <= fields


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        pytest.param(
            {"attendance_from": "2026-02-01", "attendance_to": "2026-01-31"},
            "before",
            id="range-reversed",
        ),
        pytest.param({"school_id": "no spaces allowed"}, "school_id", id="school-id"),
    ],
)
def test_config_refuses_inconsistent_settings(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=problem):
        SimsConfig.model_validate({**SYNTHETIC_CONFIG, **changes})
