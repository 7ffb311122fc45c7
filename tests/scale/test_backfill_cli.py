"""`hub backfill`: which connections it reads, and the refusals that name the problem.

The backfill itself (a SIMS emulator per school, SIGINT, resume, every mark stored once) runs
in tests/scale/test_bench_smoke.py through the real CLI in a subprocess.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.backfill import (
    BackfillReport,
    backfill_connections,
    backfill_stream,
    default_end,
    exit_code,
)
from hub.cli import main
from hub.plugins import PluginHost
from hub.settings import ConfigError, HubSettings


def _settings(tmp_path: Path) -> HubSettings:
    return HubSettings.model_validate(
        {
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
            "connections": [
                {"name": "la-hook", "plugin": "webhook", "url": "http://127.0.0.1:9/h"},
                {"name": "school", "plugin": "sims", "setting_ids": ["6799999"]},
                {"name": "old-school", "plugin": "sims", "enabled": False},
            ],
        }
    )


@pytest.fixture(scope="module")
def adapters() -> PluginHost:
    host = PluginHost()
    host.load()
    return host


def test_every_enabled_connection_that_reads_marks_by_date_is_chosen(
    tmp_path: Path, adapters: PluginHost
) -> None:
    chosen = backfill_connections(_settings(tmp_path), adapters.adapters, None)
    assert [c.name for c in chosen] == ["school"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("la-hook", "'webhook' is not an adapter plugin", id="a-notifier"),
        pytest.param("old-school", "the connection is disabled", id="disabled"),
        pytest.param("nowhere", "no connection named 'nowhere'", id="unknown"),
    ],
)
def test_a_named_connection_that_cannot_be_backfilled_is_refused(
    tmp_path: Path, adapters: PluginHost, name: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        backfill_connections(_settings(tmp_path), adapters.adapters, name)


def test_the_range_defaults_to_the_school_year_and_has_its_own_cursor() -> None:
    assert default_end(dt.date(2025, 9, 1), dt.date(2026, 11, 1)) == dt.date(2026, 8, 31)
    assert default_end(dt.date(2025, 9, 1), dt.date(2026, 2, 1)) == dt.date(2026, 2, 1)
    assert default_end(dt.date(2026, 3, 2), dt.date(2027, 1, 1)) == dt.date(2026, 8, 31)
    stream = backfill_stream(dt.date(2025, 9, 1), dt.date(2026, 7, 31))
    assert stream.name == "marks-backfill:2025-09-01:2026-07-31"
    assert stream.name != "marks" and len(stream.name) <= 100  # sync_cursors.stream


def test_exit_code_is_zero_only_when_every_connection_finished() -> None:
    done = BackfillReport("a", "complete")
    assert exit_code([done]) == 0
    for status in ("interrupted", "busy", "failed"):
        assert exit_code([done, BackfillReport("b", status)]) == 1


def _toml(tmp_path: Path, connections: str = "") -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        f'database_url = "sqlite+aiosqlite:///{tmp_path / "hub.db"}"\n{connections}',
        encoding="utf-8",
    )
    return path


def test_cli_with_nothing_to_read_says_so(tmp_path: Path) -> None:
    config = _toml(tmp_path)
    result = CliRunner().invoke(main, ["backfill", "--from", "2025-09-01", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "nothing to backfill" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--from", "2025-09-01", "--to", "2025-08-01"], "before --from", id="to-before-from"
        ),
        pytest.param(
            ["--from", "2025-09-01", "--connection", "hook"], "cannot be backfilled", id="notifier"
        ),
        pytest.param(["--from", "first of September"], "Invalid value", id="not-a-date"),
    ],
)
def test_cli_refusals_exit_2_naming_the_problem(
    tmp_path: Path, args: list[str], message: str
) -> None:
    hook = '[[connections]]\nname = "hook"\nplugin = "webhook"\nurl = "http://127.0.0.1:9/h"\n'
    config = _toml(tmp_path, hook)
    result = CliRunner().invoke(main, ["backfill", *args, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert message in result.output
