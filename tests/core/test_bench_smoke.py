"""The benchmarks run (no timing assertions: machines are shared and noisy)."""

from __future__ import annotations

from bench import ingest


def test_ingest_benchmark_runs_and_reports_a_ratio() -> None:
    result = ingest.run(2_000)
    assert result["marks"] == 2_000
    assert result["raw_per_s"] > 0
    assert result["hub_per_s"] > 0
    assert result["ratio"] == result["hub_per_s"] / result["raw_per_s"]
