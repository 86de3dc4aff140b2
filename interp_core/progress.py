"""Progress reports of long runs (training stages, evaluations, benchmarks) and how durations read.

Ground floor: every layer reports progress with these types, so none imports the training engine for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Progress:
    """One progress report: ``fraction`` in [0, 1] of the whole run, and a human-readable ``message``."""

    stage: str
    fraction: float
    message: str
    epoch: int = 0
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[Progress], None]


def stage_progress(progress: ProgressCallback | None, stage: str, start: float, end: float) -> ProgressCallback | None:
    """A callback for one named stage of a multi-stage run: the stage's own fraction in [0, 1] is mapped
    onto ``[start, end]`` of the whole run and its reports carry ``stage``."""
    if progress is None:
        return None

    def report(p: Progress) -> None:
        progress(Progress(stage, start + (end - start) * p.fraction, f"{stage}: {p.message}", p.epoch, p.epochs, p.metrics))

    return report


def format_duration(seconds: float | None, *, about: bool = False) -> str:
    """A duration as people read it. Exact (a measured length): ``"3.4 s"``, ``"2 min 05 s"``,
    ``"1 h 05 min"``. ``about=True`` (an estimate): ``"about 40 s"``, ``"about 14 min"``,
    ``"about 1.6 h"``, ``"about 4 days"``; ``"unknown time"`` for None."""
    if seconds is None:
        return "unknown time"
    if about:
        if seconds < 90:
            return f"about {max(1, round(seconds))} s"
        if seconds < 5400:
            return f"about {round(seconds / 60)} min"
        if seconds < 3 * 86400:
            return f"about {seconds / 3600:.1f} h"
        return f"about {seconds / 86400:.0f} days"
    if seconds >= 3600:
        hours, rest = divmod(int(round(seconds)), 3600)
        return f"{hours} h {rest // 60:02d} min"
    if seconds >= 120:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s"
