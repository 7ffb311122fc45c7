"""Scale-out benchmark: `hub run --worker` processes on one PostgreSQL share the outbox
(``FOR UPDATE SKIP LOCKED`` leases) and deliver N notifications to an idempotent webhook
receiver on loopback. Prints deliveries per second with 1 worker and with 2, and the ratio.

    python -m bench scale                 # 100,000 notifications, 1 then 2 workers
    python -m bench scale --quick         # 2,000
    python -m bench scale --kill          # also 2 workers with one SIGKILLed a third in

The PostgreSQL server is a throwaway one (`hub.testing.postgres`). The receiver applies each
`Idempotency-Key` once and answers a repeat with its first answer, as the webhook protocol
asks (`hub.notify.webhook`); it counts both. tests/scale/test_multi_worker.py uses the same
pieces (`Receiver`, `seed_notifications`, `Worker`) for its exactly-once check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import insert

from hub.engine.routing import NOTIFICATION, notification_key
from hub.sdk import verify_hmac_sha256
from hub.store import OutboxStatus, create_engine, session_factory, upgrade
from hub.store.findings import _notification_values
from hub.store.models import Base
from hub_contracts import Notification, NotificationKind, make_upn

HUB = Path(sys.executable).with_name("hub")
SECRET = "synthetic-scale-secret"
SECRET_ENV = "BENCH_WEBHOOK_SECRET"
CONNECTION = "la-hook"
FULL = 100_000
QUICK = 2_000
_NOTIFICATIONS = Base.metadata.tables["notifications"]
_OUTBOX = Base.metadata.tables["outbox"]
#: Bulk-seeding batch: rows per INSERT.
SEED_BATCH = 5_000


# --- the receiver ----------------------------------------------------------------------------


@dataclass
class Receiver:
    """An idempotent webhook receiver: applies each key once, counts every request."""

    secret: bytes = SECRET.encode()
    url: str = ""
    requests: int = 0
    bad_signatures: int = 0
    applied: dict[str, str] = field(default_factory=dict)
    applied_per_notification: Counter[str] = field(default_factory=Counter)
    repeats: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests += 1
        if not verify_hmac_sha256(self.secret, body, request.headers.get("X-Hub-Signature-256")):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        if key in self.applied:
            self.repeats += 1
            return web.json_response({"id": self.applied[key], "repeat": True})
        receipt = f"rcv-{len(self.applied) + 1}"
        self.applied[key] = receipt
        self.applied_per_notification[json.loads(body)["id"]] += 1
        self.changed.set()
        return web.json_response({"id": receipt}, status=201)

    async def serve(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return runner

    async def wait_for(self, count: int, *, within: float) -> bool:
        """Until `count` keys are applied; False if that takes longer than `within` s."""
        deadline = time.monotonic() + within
        while len(self.applied) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=min(left, 1.0))
        return True


# --- the outbox ------------------------------------------------------------------------------


def notification(n: int, at: dt.datetime) -> Notification:
    return Notification(
        id=f"scale-n-{n}",
        kind=NotificationKind.DELETION_RETURN,
        upn=make_upn(f"99900013{n % 10_000:04d}"),
        recipient="la",
        due_by=at + dt.timedelta(days=14),
        created_at=at,
        payload={"ground": "wales-2010:8(1)(d)", "note": "synthetic"},
    )


async def seed_notifications(database_url: str, n: int, *, first: int = 1) -> list[str]:
    """`n` stored notifications, each with a pending outbox row to the webhook connection:
    the rows `hub.engine.routing.enqueue_notification` writes, inserted `SEED_BATCH` at a time
    (the benchmark times delivery, not enqueuing). Returns the notification ids."""
    at = dt.datetime.now(dt.UTC)
    engine = create_engine(database_url)
    ids: list[str] = []
    try:
        sessions = session_factory(engine)
        for start in range(first, first + n, SEED_BATCH):
            batch = [notification(i, at) for i in range(start, min(first + n, start + SEED_BATCH))]
            async with sessions.begin() as s:
                await s.execute(insert(_NOTIFICATIONS), [_notification_values(x) for x in batch])
                await s.execute(
                    insert(_OUTBOX),
                    [
                        {
                            "kind": NOTIFICATION,
                            "connection": CONNECTION,
                            "recipient": x.recipient,
                            "payload": {"notification_id": x.id},
                            "idempotency_key": notification_key(x.id, CONNECTION),
                            "status": OutboxStatus.PENDING.value,
                            "attempts": 0,
                            "next_attempt_at": at,
                            "created_at": at,
                        }
                        for x in batch
                    ],
                )
            ids.extend(x.id for x in batch)
    finally:
        await engine.dispose()
    return ids


async def outbox_states(database_url: str) -> Counter[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.exec_driver_sql("SELECT status, count(*) FROM outbox GROUP BY status")
            return Counter({status: int(count) for status, count in rows})
    finally:
        await engine.dispose()


async def delivering_workers(database_url: str) -> Counter[str]:
    """Deliveries per worker, from the audit ledger's share records."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.exec_driver_sql("SELECT detail FROM audit_ledger")
            workers: Counter[str] = Counter()
            for (detail,) in rows:
                data = detail if isinstance(detail, dict) else json.loads(detail)
                workers[str(data.get("worker"))] += 1
            return workers
    finally:
        await engine.dispose()


# --- the workers -----------------------------------------------------------------------------


def worker_toml(
    database_url: str, receiver_url: str, *, extra: str = "", batch_size: int = 100
) -> str:
    routes = "\n".join(
        f'[[routes]]\nkind = "{kind.value}"\nconnections = ["{CONNECTION}"]\n'
        for kind in NotificationKind
    )
    return f"""
database_url = "{database_url}"
auto_migrate = true

[logging]
level = "INFO"

[outbox]
batch_size = {batch_size}
lease_seconds = 5
poll_interval_seconds = 0.2
max_attempts = 50
backoff_initial_seconds = 0.05
backoff_max_seconds = 0.5

[sync]
lease_seconds = 5

[[connections]]
name = "{CONNECTION}"
plugin = "webhook"
url = "{receiver_url}"
secret = "env:{SECRET_ENV}"
{extra}
{routes}
"""


class Worker:
    """One `hub run --worker` subprocess with its own worker id and log file."""

    def __init__(self, config: Path, name: str, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.name = name
        self.log = config.parent / f"{name}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        self.env |= {SECRET_ENV: SECRET, "HUB_WORKER_ID": name, **(env or {})}
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                str(HUB),
                "run",
                "--worker",
                "--config",
                str(self.config),
                cwd=self.config.parent,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    async def started(self, *, within: float = 60.0) -> None:
        """Until the worker's dispatcher runs (it logs ``dispatcher_started``)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.returncode is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            if any(e.get("event") == "dispatcher_started" for e in self.events()):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start within {within:g}s")

    async def stop(self, sig: int) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(60):
            return await self.proc.wait()


# --- the benchmark ---------------------------------------------------------------------------


async def deliver(
    database_url: str,
    directory: Path,
    n: int,
    workers: int,
    *,
    kill_at: int | None = None,
    report: dict[str, float] | None = None,
) -> float:
    """Seconds for `workers` workers to deliver `n` seeded notifications. With `kill_at`, the
    first worker is SIGKILLed once that many are applied (the rest must finish its rows when
    its leases run out); `report` then gets the receiver's counts."""
    await upgrade(database_url)
    receiver = Receiver()
    runner = await receiver.serve()
    config = directory / "hub.toml"
    config.write_text(worker_toml(database_url, receiver.url), encoding="utf-8")
    running = [Worker(config, f"worker-{i + 1}") for i in range(workers)]
    try:
        for worker in running:
            await worker.start()
        for worker in running:
            await worker.started()
        await seed_notifications(database_url, n)
        start = time.perf_counter()
        if kill_at is not None:
            if not await receiver.wait_for(kill_at, within=max(600.0, n / 10)):
                raise RuntimeError(f"only {len(receiver.applied)} of {kill_at} before the kill")
            await running[0].stop(9)  # SIGKILL: no drain, its leases are left to expire
        if not await receiver.wait_for(n, within=max(600.0, n / 10)):
            raise RuntimeError(f"only {len(receiver.applied)} of {n} delivered in time")
        elapsed = time.perf_counter() - start
    finally:
        for worker in running:
            await worker.stop(15)  # SIGTERM
        await runner.cleanup()
    if receiver.bad_signatures or any(v != 1 for v in receiver.applied_per_notification.values()):
        raise RuntimeError("a notification was not applied exactly once")
    if report is not None:
        report.update(
            applied=float(len(receiver.applied)),
            requests=float(receiver.requests),
            repeats=float(receiver.repeats),
        )
    return elapsed


def run(n: int, worker_counts: Sequence[int] = (1, 2), *, kill: bool = False) -> dict[str, float]:
    from hub.testing.postgres import running_postgres

    rates: dict[int, float] = {}
    killed: dict[str, float] = {}
    with running_postgres() as server, tempfile.TemporaryDirectory() as tmp:
        if kill:
            url = server.create_database("hub_scale_kill")
            directory = Path(tmp) / "kill"
            directory.mkdir()
            seconds = asyncio.run(deliver(url, directory, n, 2, kill_at=n // 3, report=killed))
            print(
                f"scale-out with a SIGKILL: {n:,} notifications, 2 workers, worker-1 killed at "
                f"{n // 3:,} applied; all {int(killed['applied']):,} applied exactly once in "
                f"{seconds:,.1f}s ({int(killed['requests']):,} requests, "
                f"{int(killed['repeats']):,} repeats answered from the receiver's record)",
                flush=True,
            )
        for count in worker_counts:
            url = server.create_database(f"hub_scale_{count}")
            directory = Path(tmp) / f"w{count}"
            directory.mkdir()
            seconds = asyncio.run(deliver(url, directory, n, count))
            rates[count] = n / seconds
            print(
                f"scale-out: {n:,} notifications delivered exactly once by {count} worker(s) "
                f"on PostgreSQL in {seconds:,.1f}s: {rates[count]:,.0f}/s",
                flush=True,
            )
    first, last = worker_counts[0], worker_counts[-1]
    ratio = rates[last] / rates[first]
    print(f"scale-out ratio {last} workers / {first}: {ratio:.2f} (machine: {os.cpu_count()} CPUs)")
    return {
        "notifications": float(n),
        **{f"per_s_{k}": v for k, v in rates.items()},
        "ratio": ratio,
        **{f"kill_{k}": v for k, v in killed.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--notifications", type=int, default=FULL)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} notifications")
    parser.add_argument(
        "--kill",
        action="store_true",
        help="first, a 2-worker run with one worker SIGKILLed a third of the way through",
    )
    args = parser.parse_args(argv)
    run(QUICK if args.quick else args.notifications, kill=args.kill)
    return 0
