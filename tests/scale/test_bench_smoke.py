"""The benchmarks run end to end at a small size and report their figures (no timing
assertions: the machine is shared and noisy; only that each figure exists and adds up)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import backfill, ingest, latency, scale
from bench.synthetic import bench_la, mark_rows, register_days
from hub.testing.postgres import PostgresServer

pytestmark = pytest.mark.slow


def test_the_synthetic_la_is_seeded_and_realistic() -> None:
    la = bench_la(settings=6, learners=400, dual_fraction=0.05, eotas_fraction=0.02)
    again = bench_la(settings=6, learners=400, dual_fraction=0.05, eotas_fraction=0.02)
    assert la == again
    assert len(la.learners) == 400 and len(la.dual) == 20 and len(la.eotas) == 8
    assert len(la.school_days) >= 190
    first = mark_rows(la, 3_000)
    assert first == mark_rows(again, 3_000)
    codes = [m["code"] for _, rows in register_days(la, days=20) for m in rows]
    present = sum(c in ("/", "\\", "L") for c in codes) / len(codes)
    assert 0.8 < present < 0.97
    assert {"D", "B", "O", "I"} <= set(codes)


def test_ingest_reports_both_rates_the_ratio_and_the_cost_growth() -> None:
    result = ingest.growth((1_000, 3_000))
    first, last = result["results"]
    for figures in (first, last):
        assert figures["accepted"] + figures["rejected"] == figures["marks"]
        assert figures["ratio"] == figures["hub_per_s"] / figures["raw_per_s"]
    assert result["growth"] == last["hub_us_per_mark"] / first["hub_us_per_mark"]


def test_latency_measures_post_to_write_back() -> None:
    result = latency.run(rate=20, seconds=1.5, batch=5)
    assert result["delivered"] == result["marks"] == 30
    assert result["post_errors"] == 0
    assert 0 < result["p50"] <= result["p95"] <= result["p99"]


def test_latency_measures_the_poll_path_from_the_pru_sims_to_write_back() -> None:
    """Issue 9: the poll path, marks recorded in the PRU's SIMS and synced every second."""
    result = latency.run(rate=20, seconds=1.5, batch=5, poll_seconds=1.0)
    assert result["delivered"] == result["marks"] == 30
    assert result["target_p99"] == 1.0 + latency.POLL_SLACK_S
    assert 0 < result["p50"] <= result["p95"] <= result["p99"]


def test_backfill_reads_every_mark_once_and_resumes_after_sigint() -> None:
    result = backfill.run(40, settings=4, days=15, interrupt_after=3.0)
    assert result["stored_current"] == result["stored_entries"] == result["marks"] > 0
    assert result["peak_rss_mb"] > 0
    assert not math.isnan(result["extrapolated_25k_minutes"])


@pytest.mark.postgres
async def test_scale_delivers_with_one_worker(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database("bench_scale_smoke")
    try:
        seconds = await scale.deliver(url, tmp_path, 200, 1)
    finally:
        postgres_server.drop_database("bench_scale_smoke")
    assert seconds > 0
