"""`hub run` as a real process: SIGKILL mid-delivery, restart, every notification applied once.

The receiver is a real HTTP server on loopback in this test's event loop. It fails the first
requests with 503, hangs on one delivery after applying it (so the hub is killed with that
delivery in flight: applied by the receiver, never acknowledged to the hub), refuses one key
with 400 until told otherwise, and de-duplicates by idempotency key. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.engine.routing import enqueue_notification, notification_key
from hub.store import OutboxRepository, OutboxStatus
from hub.store.db import create_engine, session_factory
from hub.store.migrate import upgrade
from hub_contracts import NotificationKind

HUB = Path(sys.executable).with_name("hub")
WAIT = 90.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(kit: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return env | kit.ENVIRON


async def _cli(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(HUB),
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(WAIT):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class HubProcess:
    def __init__(self, tmp_path: Path, env: dict[str, str], name: str) -> None:
        self.tmp_path, self.env = tmp_path, env
        self.log = tmp_path / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                str(HUB),
                "run",
                "--config",
                "hub.toml",
                cwd=self.tmp_path,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def stop(self, sig: int) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(WAIT):
            return await self.proc.wait()

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def _config(database_url: str, port: int, receiver_url: str) -> str:
    routes = "\n".join(
        f'[[routes]]\nkind = "{kind.value}"\nconnections = ["la-hook"]\n'
        for kind in NotificationKind
    )
    return f"""
database_url = "{database_url}"
auto_migrate = true

[api]
host = "127.0.0.1"
port = {port}

[outbox]
batch_size = 10
lease_seconds = 3
poll_interval_seconds = 0.1
max_attempts = 50
backoff_initial_seconds = 0.05
backoff_max_seconds = 0.5

[[connections]]
name = "la-hook"
plugin = "webhook"
url = "{receiver_url}"
secret = "env:HUB_TEST_WEBHOOK_SECRET"

{routes}
"""


async def test_sigkill_mid_delivery_restart_delivers_each_notification_once_then_dlq_and_audit(
    tmp_path: Path, receiver: Any, kit: Any
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await upgrade(database_url)
    settings = kit.settings(database_url, webhook_url=receiver.url)
    notifications = [kit.notification(n) for n in range(1, 7)]
    refused = kit.notification(7, kind=NotificationKind.CME_REFERRAL)
    refused_key = notification_key(refused.id, "la-hook")
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        for n in [*notifications, refused]:
            await enqueue_notification(session, settings, n, la_code="999", now=n.created_at)

    async def state(key: str) -> OutboxStatus:
        async with sessions() as session:
            item = await OutboxRepository(session).get_by_key(key)
        assert item is not None
        return item.status

    receiver.fail_first = 3
    receiver.hang_on_apply = 2
    receiver.status_for[refused_key] = 400
    (tmp_path / "hub.toml").write_text(
        _config(database_url, _free_port(), receiver.url), encoding="utf-8"
    )
    env = _env(kit)

    first = HubProcess(tmp_path, env, "first")
    await first.start()
    try:
        async with asyncio.timeout(WAIT):
            await receiver.hung.wait()
        hung_key = next(k for k, v in receiver.applied.items() if v == "rcv-2")
        assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        receiver.release.set()
        await first.stop(signal.SIGKILL)
    # The receiver applied it, but the hub died before hearing so: still pending.
    assert await state(hung_key) is OutboxStatus.PENDING

    second = HubProcess(tmp_path, env, "second")
    await second.start()
    try:
        keys = [notification_key(n.id, "la-hook") for n in notifications]

        async def settled() -> bool:
            states = [await state(k) for k in keys]
            return states == [OutboxStatus.DELIVERED] * len(keys) and (
                await state(refused_key) is OutboxStatus.DEAD
            )

        await kit.eventually(settled, "every delivery settled after the restart", within=WAIT)
        assert all(receiver.applied_per_notification[n.id] == 1 for n in notifications)
        assert receiver.requests_for(hung_key) >= 2, "the killed delivery was sent again"
        assert all(seen.signature_ok for seen in receiver.seen)
        assert [s.status for s in receiver.seen[:3]] == [503, 503, 503]

        code, out, err = await _cli(tmp_path, env, "dlq", "list", "--config", "hub.toml", "--json")
        assert code == 0, err
        (letter,) = json.loads(out)
        assert letter["idempotency_key"] == refused_key and letter["connection"] == "la-hook"
        assert letter["reason"].startswith("PermanentError") and "HTTP 400" in letter["reason"]
        code, out, _ = await _cli(tmp_path, env, "dlq", "list", "--config", "hub.toml")
        assert "la-hook / la" in out and "HTTP 400" in out

        code, out, err = await _cli(tmp_path, env, "dlq", "replay", "999", "--config", "hub.toml")
        assert (code, out) == (2, "") and "no dead letter with id 999" in err

        del receiver.status_for[refused_key]
        code, out, err = await _cli(
            tmp_path, env, "dlq", "replay", str(letter["id"]), "--config", "hub.toml"
        )
        assert code == 0, err
        assert refused_key in out

        async def replayed() -> bool:
            return await state(refused_key) is OutboxStatus.DELIVERED

        await kit.eventually(replayed, "the replayed dead letter was delivered", within=WAIT)
        assert receiver.applied_per_notification[refused.id] == 1
        code, out, _ = await _cli(tmp_path, env, "dlq", "list", "--config", "hub.toml", "--json")
        assert json.loads(out) == []

        code, out, err = await _cli(tmp_path, env, "audit", "verify", "--config", "hub.toml")
        assert (code, out.strip()) == (0, "ok: 7 entries"), err
        with sqlite3.connect(tmp_path / "hub.db") as db:
            db.execute(
                """UPDATE audit_ledger SET detail = '{"to": "someone-else"}' WHERE seq = 3"""
            )
        code, out, err = await _cli(tmp_path, env, "audit", "verify", "--config", "hub.toml")
        assert code == 1 and "seq 3" in err
    finally:
        returncode = await second.stop(signal.SIGTERM)
        await engine.dispose()
    assert returncode == 0, second.log.read_text()
    events = [e["event"] for e in second.events()]
    assert "dispatcher_stopped" in events and "hub_stopped" in events
    assert "delivery_failed" in [e["event"] for e in first.events()]
    assert not any(n.upn in second.log.read_text() for n in notifications), "a UPN was logged"
