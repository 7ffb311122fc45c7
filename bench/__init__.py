"""Benchmarks: never part of the test run; each prints ratios measured in the same run."""
