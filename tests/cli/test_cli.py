"""The `hub` CLI as a user runs it (DESIGN §5): real processes, real SQLite."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

RunHub = Callable[..., subprocess.CompletedProcess[str]]


def test_plugins_list_json_finds_the_four_plugins_through_entry_points(run_hub: RunHub) -> None:
    result = run_hub("plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    inventory = {item["name"]: item for item in json.loads(result.stdout)}
    assert {"sims", "one", "myconcern", "cpoms"} <= set(inventory)
    assert inventory["sims"]["status"] == "loaded"
    assert inventory["sims"]["distribution"] == "attendance-hub-sims"
    assert "write_marks" in inventory["sims"]["capabilities"]


def test_plugins_list_honours_the_block_list(run_hub: RunHub) -> None:
    result = run_hub("plugins", "list", "--json", env={"HUB_PLUGINS__BLOCK": '["cpoms"]'})
    assert result.returncode == 0, result.stderr
    statuses = {item["name"]: item["status"] for item in json.loads(result.stdout)}
    assert statuses["cpoms"] == "blocked"
    assert statuses["sims"] == "loaded"


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        pytest.param("[api]\nprot = 80\n", "api.prot: unknown key", id="wrong key"),
        pytest.param('[api]\nport = "x"\n', "api.port:", id="wrong type"),
    ],
)
def test_bad_config_exits_2_with_one_line_naming_the_key(
    run_hub: RunHub, tmp_path: Path, toml: str, needle: str
) -> None:
    (tmp_path / "bad.toml").write_text(toml, encoding="utf-8")
    for command in (["check"], ["plugins", "list"], ["db", "upgrade"], ["run"]):
        result = run_hub(*command, "--config", "bad.toml")
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (command, result.stderr)
    assert not (tmp_path / "hub.db").exists(), "nothing may be written on a config error"


def test_db_upgrade_then_token_create_prints_the_token_alone_and_stores_a_hash(
    run_hub: RunHub, tmp_path: Path
) -> None:
    upgraded = run_hub("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at revision" in upgraded.stdout

    created = run_hub("token", "create", "--scope", "admin", "--scope", "la:999")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("hub_") and " " not in token
    with sqlite3.connect(tmp_path / "hub.db") as db:
        dump = "\n".join(db.iterdump())
    assert token not in dump, "the plaintext token must never be stored"


def test_token_list_and_revoke_take_a_token_out_of_service(run_hub: RunHub, tmp_path: Path) -> None:
    """LA IT can see which tokens exist (never their values) and revoke one at once."""
    assert run_hub("db", "upgrade").returncode == 0
    created = run_hub("token", "create", "--scope", "setting:9990001", "--name", "pru-mis")
    token = created.stdout.strip().splitlines()[-1]
    listed = run_hub("token", "list")
    assert listed.returncode == 0
    (line,) = listed.stdout.strip().splitlines()
    assert "pru-mis" in line and "setting:9990001" in line and line.endswith("active")
    assert token not in listed.stdout

    revoked = run_hub("token", "revoke", "1")
    assert revoked.returncode == 0 and "revoked" in revoked.stderr
    assert "revoked" in run_hub("token", "list").stdout
    again = run_hub("token", "revoke", "1")
    assert again.returncode == 1 and "no active token 1" in again.stderr
    with sqlite3.connect(tmp_path / "hub.db") as db:
        (revoked_at,) = db.execute("SELECT revoked_at FROM api_tokens WHERE id = 1").fetchone()
    assert revoked_at is not None


def test_token_create_refuses_an_unknown_scope(run_hub: RunHub, tmp_path: Path) -> None:
    result = run_hub("token", "create", "--scope", "root")
    assert result.returncode == 2
    assert "--scope" in result.stderr and "admin, la:" in result.stderr
    assert not (tmp_path / "hub.db").exists()


def test_check_names_an_unknown_plugin(run_hub: RunHub, tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(
        '[[connections]]\nname = "x"\nplugin = "nonesuch"\n', encoding="utf-8"
    )
    result = run_hub("check")
    assert result.returncode == 2
    assert "connections.x.plugin" in result.stdout + result.stderr


def test_check_names_a_missing_secret_without_printing_secrets(
    run_hub: RunHub, tmp_path: Path
) -> None:
    (tmp_path / "hub.toml").write_text(
        """
[[connections]]
name = "ysgol-a-sims"
plugin = "sims"
base_url = "http://127.0.0.1:9"
client_id = "hub"
client_secret = "env:SIMS_SECRET_UNSET"
subscription_key = "env:SIMS_KEY"
school_id = "9992001"
""",
        encoding="utf-8",
    )
    result = run_hub("check", env={"SIMS_KEY": "do-not-print-me"})
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "connections.ysgol-a-sims" in output and "SIMS_SECRET_UNSET" in output
    assert "do-not-print-me" not in output


def test_check_reports_an_unreachable_connection_with_exit_1(
    run_hub: RunHub, tmp_path: Path
) -> None:
    (tmp_path / "hub.toml").write_text(
        """
[[connections]]
name = "la-one"
plugin = "one"
base_url = "http://127.0.0.1:9"
api_key = "env:ONE_KEY"
la_code = "999"
""",
        encoding="utf-8",
    )
    result = run_hub("check", env={"ONE_KEY": "synthetic-key"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "configuration ok: 1 connection(s)" in result.stdout
    assert "la-one: FAILED" in result.stdout


def test_check_accepts_a_notifier_connection(run_hub: RunHub, tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(
        '[[connections]]\nname = "la-hook"\nplugin = "webhook"\n'
        'url = "http://127.0.0.1:9/hook"\nsecret = "env:HOOK_SECRET"\n',
        encoding="utf-8",
    )
    missing = run_hub("check")
    assert missing.returncode == 2
    assert "connections.la-hook: secret: env:HOOK_SECRET" in missing.stdout + missing.stderr
    ok = run_hub("check", env={"HOOK_SECRET": "synthetic-secret"})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "la-hook: ok (notifier" in ok.stdout
    assert "synthetic-secret" not in ok.stdout + ok.stderr
