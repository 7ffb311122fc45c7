"""Packaging, registration and configuration of the one plugin."""

from __future__ import annotations

import datetime as dt
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
from hub_contracts import Notification, NotificationKind
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


async def test_declared_sends_refuse_kinds_before_any_request() -> None:
    config = OneConfig.model_validate(SYNTHETIC_CONFIG)
    adapter = OneAdapter(config, NoNetwork(), connection_name="synthetic-one")
    alert = Notification(
        id="n-1",
        kind=NotificationKind.SAFEGUARDING_ALERT,
        recipient="la:999",
        created_at=dt.datetime(2025, 1, 20, tzinfo=dt.UTC),
    )
    with pytest.raises(PermanentError, match="safeguarding_alert"):
        await adapter.send_notification(alert, "k")


def test_config_defaults_and_bounds() -> None:
    config = OneConfig.model_validate(SYNTHETIC_CONFIG)
    assert (config.page_size, config.http_timeout) == (100, None)
    with pytest.raises(pydantic.ValidationError, match="page_size"):
        OneConfig.model_validate({**SYNTHETIC_CONFIG, "page_size": 0})
    with pytest.raises(pydantic.ValidationError, match="la_code"):
        OneConfig.model_validate({**SYNTHETIC_CONFIG, "la_code": "99"})


def test_vendor_fields_with_pupil_data_are_masked_in_logs() -> None:
    fields = set(plugin.hub_sensitive_fields())
    assert fields == set(plugin.SENSITIVE_FIELDS)
    assert all(isinstance(name, str) and name for name in fields)
