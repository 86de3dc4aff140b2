"""The shared timing harness: interleaved rounds, the median of pairwise ratios and its spread."""
from __future__ import annotations

import time

import pytest

from interp_core.bench.harness import compare, conditions, ratio_report, timed


class FakeClock:
    """A clock that only the timed functions advance, so the harness's arithmetic is tested exactly."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_compare_reports_the_median_pairwise_ratio_and_alternates_the_order(monkeypatch):
    from interp_core.bench import harness

    clock = FakeClock()
    monkeypatch.setattr(harness.time, "perf_counter", clock)
    monkeypatch.setattr(harness.time, "process_time", clock)
    calls: list[str] = []
    a_costs = iter([9.0, 3.0, 3.3, 6.0, 2.7, 3.0])  # warm-up, then 5 rounds
    b_costs = iter([9.0, 1.0, 1.0, 1.0, 1.0, 1.0])

    def a() -> None:
        calls.append("a")
        clock.now += next(a_costs)

    def b() -> None:
        calls.append("b")
        clock.now += next(b_costs)

    out = compare(a, b, rounds=5, warmup=1)
    # Pairwise ratios 3.0, 3.3, 6.0, 2.7, 3.0: the median ignores the one disturbed round.
    assert out["ratio"] == pytest.approx(3.0) and out["cpu_ratio"] == pytest.approx(3.0)
    assert out["ratio_min"] == pytest.approx(2.7) and out["ratio_max"] == pytest.approx(6.0)
    assert out["a_ms"] == pytest.approx(3000.0) and out["b_ms"] == pytest.approx(1000.0) and out["rounds"] == 5
    # warm-up a, b; then rounds ab, ba, ab, ba, ab: neither side always runs first.
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a", "a", "b"]


def test_timed_and_conditions_and_report():
    out = timed(lambda: time.sleep(0.005), rounds=3, warmup=0)
    assert out["seconds_min"] <= out["seconds"] <= out["seconds_max"] and out["seconds"] >= 0.005
    info = conditions(shape=[1, 2])
    assert info["threads"] >= 1 and info["shape"] == [1, 2] and "load_average_1min" in info
    line = ratio_report("conv_overhead", {"ratio": 1.234, "ratio_min": 1.1, "ratio_max": 1.4}, goal=1.3)
    assert line == "conv_overhead 1.23 (min 1.10, max 1.40; goal <= 1.3)"
    with pytest.raises(ValueError):
        compare(lambda: None, lambda: None, rounds=0)


def test_piq_benchmark_times_the_explainers_mask_with_the_harness(monkeypatch):
    """bench piq's ratio comes from the shared harness (median pairwise ratio, min-max spread), on the
    shipped piq-digits (cheap), with the forward as the denominator."""
    import interp_core.bench.piq as piq_bench

    seen = {}
    real = piq_bench.compare

    def spy(a, b, **kwargs):
        seen.update(kwargs)
        return real(a, b, **kwargs)

    monkeypatch.setattr(piq_bench, "compare", spy)
    row = piq_bench.mask_over_forward("piq-digits", rounds=3)
    assert seen["rounds"] == 3
    lo, hi = row["spread"]
    assert lo <= row["mask_over_forward"] <= hi
    assert row["mask_ms"] > 0 and row["forward_ms"] > 0 and row["input_shape"] == [1, 28, 28]
