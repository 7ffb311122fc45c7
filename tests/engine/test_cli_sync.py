"""`hub sync --once` as a user runs it, with a synthetic adapter plugin installed on PYTHONPATH
(a real distribution with an entry point, discovered like any vendor plugin)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from hub.store import SettingRepository
from hub.store.db import create_engine, session_factory
from hub.store.migrate import upgrade

HUB = Path(sys.executable).with_name("hub")

PLUGIN = '''
"""A synthetic MIS for tests: pages of two records from a JSON file."""
from __future__ import annotations

import json
from pathlib import Path

from hub.sdk import (
    Adapter, AdapterConfig, AdapterManifest, AuthError, Capability, Page, hookimpl,
)
from hub_contracts import AttendanceMark, Learner, Registration


class SyntheticConfig(AdapterConfig):
    data_file: str
    fail: str | None = None


class SyntheticMis(Adapter[SyntheticConfig]):
    manifest = AdapterManifest(
        name="synthetic-mis",
        display_name="Synthetic MIS (tests)",
        capabilities=frozenset(
            {Capability.READ_LEARNERS, Capability.READ_ROLL, Capability.READ_MARKS}
        ),
        config_model=SyntheticConfig,
    )

    async def check(self):
        return None

    def _page(self, key, model, cursor):
        if self.config.fail == "auth":
            raise AuthError("synthetic: credentials rejected")
        records = json.loads(Path(self.config.data_file).read_text())[key]
        start = int(cursor or 0)
        end = min(start + 2, len(records))
        return Page(
            [model.model_validate(r) for r in records[start:end]],
            next_cursor=str(end),
            has_more=end < len(records),
        )

    async def read_learners(self, cursor):
        return self._page("learners", Learner, cursor)

    async def read_roll(self, cursor):
        return self._page("roll", Registration, cursor)

    async def read_marks(self, cursor):
        return self._page("marks", AttendanceMark, cursor)


@hookimpl
def hub_register_adapters(registry):
    registry.register(SyntheticMis)
'''


def _install_plugin(site: Path) -> None:
    site.mkdir()
    (site / "hub_synthetic_mis.py").write_text(PLUGIN, encoding="utf-8")
    dist = site / "hub_synthetic_mis-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: hub-synthetic-mis\nVersion: 0.1\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[attendance_hub.plugins]\nsynthetic = hub_synthetic_mis\n", encoding="utf-8"
    )


async def _hub(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(HUB),
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(90):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_sync_once_prints_a_line_per_stream_and_exits_1_when_a_connection_fails(
    tmp_path: Path, kit: Any
) -> None:
    _install_plugin(tmp_path / "site")
    data = {
        "learners": [kit.learner(n).model_dump(mode="json") for n in (1, 2, 3)],
        "roll": [kit.registration(n).model_dump(mode="json") for n in (1, 2, 3)],
        "marks": [
            {
                "upn": kit.upn(n),
                "setting_id": kit.SETTING_ID,
                "date": "2025-01-06",
                "session": "AM",
                "code": code,
                "source": "synthetic",
                "recorded_at": "2025-01-06T09:00:00Z",
            }
            for n, code in ((1, "/"), (2, "N"), (3, "K"))  # K: not a Welsh code in 2025
        ],
    }
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await upgrade(database_url)
    engine = create_engine(database_url)
    async with session_factory(engine).begin() as session:
        await SettingRepository(session).upsert(kit.setting())
    await engine.dispose()
    config = f"""
database_url = "{database_url}"
[[connections]]
name = "school-a"
plugin = "synthetic-mis"
data_file = "{tmp_path / "data.json"}"
[[connections]]
name = "school-b"
plugin = "synthetic-mis"
data_file = "{tmp_path / "data.json"}"
fail = "auth"
[[connections]]
name = "la-hook"
plugin = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "env:HUB_TEST_WEBHOOK_SECRET"
"""
    (tmp_path / "hub.toml").write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= kit.ENVIRON | {"PYTHONPATH": str(tmp_path / "site")}

    code, out, err = await _hub(tmp_path, env, "sync", "--once", "--config", "hub.toml")

    assert code == 1, err
    assert out.splitlines() == [
        "school-a learners: 2 page(s), 3 accepted, 0 rejected, 3 changed",
        "school-a roll: 2 page(s), 3 accepted, 0 rejected, 3 changed",
        "school-a marks: 2 page(s), 2 accepted, 1 rejected, 2 changed",
        "school-b: FAILED (AuthError): synthetic: credentials rejected",
        "la-hook: notifier connection, not synced",
        "outbox: 0 delivered, 0 to retry, 0 dead-lettered",
    ]

    config = config.replace('fail = "auth"', "enabled = false")
    (tmp_path / "hub.toml").write_text(config, encoding="utf-8")
    code, out, err = await _hub(tmp_path, env, "sync", "--once", "--config", "hub.toml")
    assert code == 0, err
    # The cursors were saved: the second pass reads from where the first ended.
    assert out.splitlines()[2] == "school-a marks: 1 page(s), 0 accepted, 0 rejected, 0 changed"


async def test_sync_without_once_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    code, _out, err = await _hub(tmp_path, env, "sync")
    assert code == 2 and "--once" in err
    assert not (tmp_path / "hub.db").exists()


async def test_dlq_and_audit_on_an_empty_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    assert (await _hub(tmp_path, env, "dlq", "list"))[:2] == (0, "no dead letters\n")
    assert (await _hub(tmp_path, env, "dlq", "list", "--json"))[:2] == (0, "[]\n")
    assert (await _hub(tmp_path, env, "audit", "verify"))[:2] == (0, "ok: 0 entries\n")
