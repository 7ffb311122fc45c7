"""Manifests, configuration models, JSON Schema and secret references."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from pydantic import SecretStr

from hub.sdk import (
    PLUGIN_API_VERSION,
    AdapterConfig,
    AdapterManifest,
    Capability,
    ConfigError,
    api_version_compatible,
    config_json_schema,
    host_allowed,
    resolve_secret_options,
    resolve_secret_reference,
    secret_fields,
)


class SyntheticConfig(AdapterConfig):
    base_url: str
    client_id: str
    client_secret: SecretStr
    webhook_secret: SecretStr | None = None


def manifest(**overrides: object) -> AdapterManifest:
    fields: dict[str, object] = {
        "name": "synthetic",
        "display_name": "Synthetic vendor",
        "capabilities": frozenset({Capability.READ_MARKS}),
        "config_model": SyntheticConfig,
    }
    return AdapterManifest.model_validate(fields | overrides)


# -- manifest ----------------------------------------------------------------------------------


def test_manifest_defaults_to_this_plugin_api_version() -> None:
    assert PLUGIN_API_VERSION == "1.0"
    assert manifest().plugin_api_version == "1.0"


def test_manifest_is_frozen() -> None:
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        manifest().name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Synthetic Vendor", "should match pattern"),
        ("name", "", "should match pattern"),
        ("plugin_api_version", "1", "MAJOR.MINOR"),
        ("plugin_api_version", "v1.0", "MAJOR.MINOR"),
        ("capabilities", frozenset(), "at least 1"),
        ("capabilities", frozenset({"teleport"}), "Input should be"),
        ("config_model", dict, "subclass of AdapterConfig"),
        ("allowed_hosts", ("https://api.example.net",), "not a host name"),
        ("allowed_hosts", ("api.example.net:443",), "not a host name"),
        ("unknown", 1, "Extra inputs"),
    ],
)
def test_invalid_manifests_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        manifest(**{field: value})


def test_allowed_hosts_are_normalised() -> None:
    assert manifest(allowed_hosts=("API.Example.NET.",)).allowed_hosts == ("api.example.net",)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("sts.sims.co.uk", True),
        ("STS.SIMS.CO.UK", True),
        ("a.azure-api.net", True),
        ("azure-api.net", False),
        ("evil-azure-api.net", False),
        ("sims.co.uk", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    assert host_allowed(host, ("sts.sims.co.uk", "*.azure-api.net")) is allowed


@pytest.mark.parametrize(
    ("version", "compatible"), [("1.0", True), ("1.7", True), ("2.0", False), ("0.9", False)]
)
def test_only_the_major_version_must_match(version: str, compatible: bool) -> None:
    assert api_version_compatible(version) is compatible


# -- config models -------------------------------------------------------------------------------


def test_config_refuses_unknown_keys() -> None:
    with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
        SyntheticConfig.model_validate(
            {"base_url": "x", "client_id": "c", "client_secret": "s", "clientsecret": "s"}
        )


def test_secret_fields_include_optional_secrets() -> None:
    assert secret_fields(SyntheticConfig) == ("client_secret", "webhook_secret")


def test_json_schema_marks_secrets_write_only() -> None:
    schema = config_json_schema(SyntheticConfig)
    properties = schema["properties"]
    assert properties["client_secret"]["writeOnly"] is True
    assert properties["webhook_secret"]["writeOnly"] is True
    assert "writeOnly" not in properties["client_id"]
    assert schema["additionalProperties"] is False


# -- secret references ---------------------------------------------------------------------------


def test_env_reference() -> None:
    assert resolve_secret_reference("env:SIMS_SECRET", {"SIMS_SECRET": "s3cr3t"}) == "s3cr3t"


def test_missing_env_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="environment variable SIMS_SECRET is not set"):
        resolve_secret_reference("env:SIMS_SECRET", {})


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("env:", "is not an environment variable name"),
        ("env:1BAD", "is not an environment variable name"),
        ("env:EMPTY", "EMPTY is empty"),
    ],
)
def test_bad_env_references(reference: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_secret_reference(reference, {"EMPTY": ""})


def test_file_reference_strips_the_trailing_newline(tmp_path: Path) -> None:
    secret_file = tmp_path / "sims-secret"
    secret_file.write_text("s3cr3t\n", encoding="utf-8")
    assert resolve_secret_reference(f"file:{secret_file}", {}) == "s3cr3t"


def test_relative_file_reference_uses_base_dir(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("t0ken", encoding="utf-8")
    assert resolve_secret_reference("file:secrets/token", {}, base_dir=tmp_path) == "t0ken"


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match=f"secret file {missing} does not exist"):
        resolve_secret_reference(f"file:{missing}", {})


def test_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_secret_reference(f"file:{tmp_path / 'empty'}", {})


@pytest.mark.parametrize("inline", ["s3cr3t-value", "vault:kv/sims", "ENV:SIMS_SECRET"])
def test_inline_secrets_are_refused_without_echoing_them(inline: str) -> None:
    with pytest.raises(ConfigError, match=r"env:VARIABLE or file:") as raised:
        resolve_secret_reference(inline, {"SIMS_SECRET": "x"})
    assert inline not in str(raised.value)


def test_resolve_secret_options_resolves_secret_fields_only() -> None:
    options = {
        "base_url": "env:NOT_A_SECRET_FIELD",
        "client_id": "hub",
        "client_secret": "env:SIMS_SECRET",
    }
    resolved = resolve_secret_options(SyntheticConfig, options, {"SIMS_SECRET": "s3cr3t"})
    assert resolved == {**options, "client_secret": "s3cr3t"}
    config = SyntheticConfig.model_validate(resolved)
    assert config.client_secret.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(config)


def test_resolve_secret_options_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"^client_secret: env:SIMS_SECRET: .* not set$"):
        resolve_secret_options(SyntheticConfig, {"client_secret": "env:SIMS_SECRET"}, {})
    with pytest.raises(ConfigError, match=r"^webhook_secret: a secret must be written"):
        resolve_secret_options(SyntheticConfig, {"webhook_secret": 42}, {})
