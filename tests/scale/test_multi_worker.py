"""Scale-out on PostgreSQL (DESIGN §6): two `hub run --worker` processes share the outbox
(`FOR UPDATE SKIP LOCKED` leases) and the connections' sync leases. They deliver N
notifications exactly once to an idempotent webhook receiver, and the run survives one worker
being SIGKILLed mid-run: its leased rows come back when the lease runs out and the other worker
delivers them, under the same idempotency keys.

N is kept small enough for `make test`; `python -m bench scale` runs 100,000 and reports the
throughput of 1 and 2 workers.
"""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import pytest

from bench.scale import (
    Receiver,
    Worker,
    delivering_workers,
    outbox_states,
    seed_notifications,
    worker_toml,
)
from hub.ingest import ingest_reference
from hub.store import create_engine, session_factory, upgrade
from hub.testing.emulator import serve_emulator
from hub.testing.postgres import PostgresServer
from hub_contracts import Jurisdiction, Setting, SettingKind
from hub_sims.emulator import EmulatorState, build_app, seed_synthetic_school

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: Notifications delivered in the test (the benchmark delivers 100,000).
N = 2_000
SCHOOL = "6799999"
WAIT = 240.0
SIMS_SECRET = "synthetic-client-secret"
SIMS_KEY = "synthetic-subscription-key"


def _sims_connection(base_url: str) -> str:
    return f"""
[[connections]]
name = "school-sims"
plugin = "sims"
setting_ids = ["{SCHOOL}"]
base_url = "{base_url}/ssli01"
token_url = "{base_url}/connect/token"
client_id = "synthetic-client"
client_secret = "env:TEST_SIMS_SECRET"
subscription_key = "env:TEST_SIMS_KEY"
school_id = "{SCHOOL}"
attendance_from = 2025-09-01
attendance_to = 2025-12-19
poll_interval_seconds = 0.5
"""


async def _school_setting(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            setting = Setting(
                id=SCHOOL,
                name="Ysgol Prawf (synthetic)",
                kind=SettingKind.MAINSTREAM,
                jurisdiction=Jurisdiction.WALES,
                la_code="999",
                maintained=True,
            )
            await ingest_reference(session, [setting], now=dt.datetime.now(dt.UTC))
    finally:
        await engine.dispose()


async def _stored_marks(database_url: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            current = (await conn.exec_driver_sql("SELECT count(*) FROM current_marks")).scalar()
            entries = (await conn.exec_driver_sql("SELECT count(*) FROM marks")).scalar()
            return int(current or 0), int(entries or 0)
    finally:
        await engine.dispose()


async def test_two_workers_deliver_every_notification_once_and_survive_a_sigkill(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database("scale_multi_worker")
    try:
        await upgrade(url)
        await _school_setting(url)
        # A school whose SIMS both workers poll: one lease holder per connection at a time.
        state = EmulatorState(school_id=SCHOOL)
        days = [dt.date(2025, 10, 6) + dt.timedelta(days=d) for d in range(12)]
        seed_synthetic_school(state, learners=20, days=[d for d in days if d.weekday() < 5])
        served = len(state.marks)
        sims, sims_url = await serve_emulator(build_app(state, page_size=50))
        receiver = Receiver()
        hook = await receiver.serve()
        config = tmp_path / "hub.toml"
        config.write_text(
            worker_toml(url, receiver.url, extra=_sims_connection(sims_url), batch_size=20),
            encoding="utf-8",
        )
        env = {"TEST_SIMS_SECRET": SIMS_SECRET, "TEST_SIMS_KEY": SIMS_KEY}
        a, b = Worker(config, "worker-a", env), Worker(config, "worker-b", env)
        try:
            for worker in (a, b):
                await worker.start()
            for worker in (a, b):
                await worker.started()
            ids = await seed_notifications(url, N)

            assert await receiver.wait_for(N // 3, within=WAIT), "a third was never delivered"
            assert await a.stop(signal.SIGKILL) == -signal.SIGKILL
            assert await receiver.wait_for(N, within=WAIT), (
                f"only {len(receiver.applied)} of {N} delivered after the SIGKILL"
            )
            states = await outbox_states(url)
            while states.get("delivered", 0) < N:  # the last settles commit after the reply
                assert await receiver.wait_for(N, within=1.0)
                states = await outbox_states(url)
        finally:
            for worker in (a, b):
                if worker.proc is not None:
                    await worker.stop(signal.SIGTERM)
            await hook.cleanup()
            await sims.cleanup()

        # Exactly once, as the receiver sees it: every notification applied once, no other.
        assert sorted(receiver.applied_per_notification) == sorted(ids)
        assert set(receiver.applied_per_notification.values()) == {1}
        assert receiver.bad_signatures == 0
        assert states == {"delivered": N}
        # Both workers delivered (the outbox was shared), the killed one before it died.
        workers = await delivering_workers(url)
        assert set(workers) == {"worker-a", "worker-b"}
        assert sum(workers.values()) == N
        # The school's SIMS was synced by the lease holder of the moment: every mark once.
        assert await _stored_marks(url) == (served, served)
        for worker in (a, b):
            events = {e.get("event") for e in worker.events()}
            assert events & {"sync_pass_done", "sync_lease_busy"}, worker.name
        assert "hub_stopped" in {e.get("event") for e in b.events()}
    finally:
        postgres_server.drop_database("scale_multi_worker")
