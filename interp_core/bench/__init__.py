"""Benchmark functions: each returns a dict of timings and ratios against a baseline measured in the same
run (never asserted in unit tests; the CLI prints them)."""
from interp_core.bench.bcos import run_bcos_benchmark

__all__ = ["run_bcos_benchmark"]
