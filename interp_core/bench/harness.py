"""The one timing harness of every ``bench`` command: interleaved A/B rounds, the median of the pairwise
ratios with its spread, wall and CPU time, and the conditions the numbers were taken under.

Timing on a shared 2-core machine drifts by tens of percent within a minute, so a ratio of "A once, then
B once" can be off by 40%. Here every round times A and B back to back (ABBA order, so neither always
runs first), each round gives one ratio A/B, and the reported ``ratio`` is the median of those ratios;
``ratio_min``/``ratio_max`` show how far single rounds strayed. A spread that is wide compared to the
distance between the ratio and its goal means "measure again on a quieter machine", not "met" or "missed".
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable


def _time_once(fn: Callable[[], Any], inner: int) -> tuple[float, float]:
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner, (time.process_time() - start_cpu) / inner


def compare(a: Callable[[], Any], b: Callable[[], Any], *, rounds: int = 9, warmup: int = 2, inner: int = 1) -> dict[str, float]:
    """Time ``a`` against ``b`` in ``rounds`` interleaved rounds (after ``warmup`` calls of each); each
    timing covers ``inner`` calls. Returns the median pairwise ratio ``a / b`` (``ratio``) with
    ``ratio_min``/``ratio_max``, the same from process CPU time (``cpu_ratio``; with several threads it
    sums their work), the median milliseconds of each side (``a_ms``, ``b_ms``, ``a_cpu_ms``, ``b_cpu_ms``)
    and ``rounds``."""
    if rounds < 1 or inner < 1:
        raise ValueError(f"rounds and inner must be >= 1, got {rounds} and {inner}.")
    from interp_core.runtime import retain_freed_memory

    retain_freed_memory()  # the same allocator as the CLI's training runs, whoever calls the benchmark
    for _ in range(warmup):
        a()
        b()
    wall_a, wall_b, cpu_a, cpu_b = [], [], [], []
    for r in range(rounds):
        order = ((a, wall_a, cpu_a), (b, wall_b, cpu_b))
        for fn, walls, cpus in (order if r % 2 == 0 else order[::-1]):
            wall, cpu = _time_once(fn, inner)
            walls.append(wall)
            cpus.append(cpu)
    ratios = [x / y for x, y in zip(wall_a, wall_b)]
    cpu_ratios = [x / y for x, y in zip(cpu_a, cpu_b) if y > 0]
    return {
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "cpu_ratio": statistics.median(cpu_ratios) if cpu_ratios else float("nan"),
        "a_ms": 1000 * statistics.median(wall_a),
        "b_ms": 1000 * statistics.median(wall_b),
        "a_cpu_ms": 1000 * statistics.median(cpu_a),
        "b_cpu_ms": 1000 * statistics.median(cpu_b),
        "rounds": rounds,
    }


def timed(fn: Callable[[], Any], *, rounds: int = 5, warmup: int = 1) -> dict[str, float]:
    """Median, min and max wall seconds of ``fn`` and its median CPU seconds, for absolute figures (a fit
    time, a start-up time) that have no baseline to divide by."""
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = _time_once(fn, 1)
        walls.append(wall)
        cpus.append(cpu)
    return {"seconds": statistics.median(walls), "seconds_min": min(walls), "seconds_max": max(walls),
            "cpu_seconds": statistics.median(cpus), "rounds": rounds}


def conditions(**extra: Any) -> dict[str, Any]:
    """What the figures were measured under: threads, load average, cores, versions, plus ``extra``."""
    import torch

    from interp_core.runtime import malloc_tuning_state

    return {
        "threads": torch.get_num_threads(),
        "malloc_tuning": malloc_tuning_state(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        **extra,
    }


def ratio_report(name: str, result: dict[str, float], goal: float | None = None) -> str:
    """One line: ``name 1.23 (min 1.10, max 1.41; goal <= 1.30)``."""
    goal_text = f"; goal <= {goal:g}" if goal is not None else ""
    return f"{name} {result['ratio']:.2f} (min {result['ratio_min']:.2f}, max {result['ratio_max']:.2f}{goal_text})"
