"""Configuration: TOML + HUB_* overrides; a bad key or value is one line naming it (DESIGN §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import DEFAULT_DATABASE_URL, ConfigError, load_settings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("HUB_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_a_file() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.api.host, settings.api.port) == ("127.0.0.1", 8080)
    assert settings.auto_migrate is True


def test_hub_toml_in_working_directory_is_used(tmp_path: Path) -> None:
    _write(tmp_path, "[api]\nport = 9001\n")
    assert load_settings().api.port == 9001


def test_file_values_and_connections(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
database_url = "postgresql+asyncpg://hub@127.0.0.1/hub"
auto_migrate = false
[api]
host = "0.0.0.0"
[[connections]]
name = "ysgol-a-sims"
plugin = "sims"
base_url = "http://127.0.0.1:9100"
client_secret = "env:SIMS_SECRET"
""",
    )
    settings = load_settings(path)
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.auto_migrate is False
    conn = settings.connection("ysgol-a-sims")
    assert conn.plugin == "sims"
    assert conn.plugin_options() == {
        "base_url": "http://127.0.0.1:9100",
        "client_secret": "env:SIMS_SECRET",
    }


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, '[api]\nport = 9001\nhost = "127.0.0.2"\n')
    monkeypatch.setenv("HUB_API__PORT", "9002")
    monkeypatch.setenv("HUB_DATABASE_URL", "sqlite+aiosqlite:///other.db")
    settings = load_settings(path)
    assert settings.api.port == 9002
    assert settings.api.host == "127.0.0.2"
    assert settings.database_url == "sqlite+aiosqlite:///other.db"


@pytest.mark.parametrize(
    ("toml", "key", "fragment"),
    [
        pytest.param("[api]\nprot = 80\n", "api.prot", "unknown key", id="misspelt key"),
        pytest.param('[api]\nport = "eighty"\n', "api.port", "integer", id="wrong type"),
        pytest.param("[api]\nport = 70000\n", "api.port", "65535", id="out of range"),
        pytest.param("colour = 1\n", "colour", "unknown key", id="unknown top-level key"),
        pytest.param('database_url = "mysql://x"\n', "database_url", "sqlite", id="bad backend"),
        pytest.param(
            '[[connections]]\nname = "Bad Name"\nplugin = "sims"\n',
            "connections.0.name",
            "pattern",
            id="bad connection name",
        ),
        pytest.param(
            '[[connections]]\nname = "a"\nplugin = "sims"\n'
            '[[connections]]\nname = "a"\nplugin = "one"\n',
            "connections",
            "used twice",
            id="duplicate connection",
        ),
        pytest.param('[logging]\nlevel = "LOUD"\n', "logging.level", "DEBUG", id="bad log level"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, toml: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, toml))
    assert info.value.key == key
    assert fragment in info.value.message
    assert "\n" not in str(info.value)


def test_bad_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_API__PORT", "abc")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.key == "api.port"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[api\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml")
