"""PIQ speed benchmark: the cost of an interpretation relative to the classifier it explains, and of
listening to it.

``run_piq_benchmark()`` returns

* ``mask_over_forward``: time of one interpretation mask (the ``piq`` explainer's ``attribute`` for one
  input and its class: classifier features, adapter, class-restricted quantisation, decoder) / time of
  the classifier's forward pass on that input, for each PIQ recipe (``per_recipe``); the headline is the
  worst recipe (goal <= 3);
* ``audio_seconds``: wall-clock seconds for a 5 s clip from waveform to interpretation waveform:
  spectrogram, mask for the predicted class, and reconstruction with the input's phase (goal < 0.5).

Timings are interleaved A/B rounds (forward, interpretation, forward, ...), so load from other
processes hits both alike; each ratio is the median of the per-round ratios, and its spread (the 25th
and 75th percentiles of those ratios) is returned beside it (and printed to stderr) with the conditions
(threads, load).
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np
import torch

GOALS = {"mask_over_forward": 3.0, "audio_seconds": 0.5}
RECIPES = ("piq-digits", "piq-shapes", "piq-sounds")
CLIP_SECONDS = 5.0


def _interleaved(fns: dict[str, Callable[[], Any]], rounds: int, warmup: int = 3) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and process-CPU seconds of each function per round (CPU time is the steadier of the
    two on a shared machine: a millisecond-long call preempted by other processes reads as tens)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return wall, cpu


def _ratio(numerator: list[float], denominator: list[float]) -> dict[str, float]:
    ratios = np.asarray(numerator) / np.asarray(denominator)
    return {"median": round(float(np.median(ratios)), 3), "q25": round(float(np.percentile(ratios, 25)), 3),
            "q75": round(float(np.percentile(ratios, 75)), 3)}


def mask_over_forward(recipe: str, rounds: int, device: str | None = None) -> dict[str, Any]:
    """Interleaved timing of the classifier's forward and of PIQ's mask on one test input of ``recipe``."""
    from interp_core.data import load_split
    from interp_core.methods.base import get_explainer
    from interp_core.store.models import load_model

    loaded = load_model(recipe, device)
    x = load_split(loaded.recipe.dataset, "test").inputs([0]).to(loaded.device)
    explainer = get_explainer("piq", loaded)
    with torch.no_grad():
        target = loaded.model(x).argmax(1)
    sync = torch.cuda.synchronize if loaded.device.type == "cuda" else (lambda: None)

    def forward() -> None:
        with torch.no_grad():
            loaded.model(x)
        sync()

    def interpret() -> None:
        explainer.attribute(x, target)
        sync()

    times, cpu = _interleaved({"forward": forward, "mask": interpret}, rounds)
    ratio, cpu_ratio = _ratio(times["mask"], times["forward"]), _ratio(cpu["mask"], cpu["forward"])
    return {"mask_over_forward": ratio["median"], "spread": [ratio["q25"], ratio["q75"]],
            "cpu_mask_over_forward": cpu_ratio["median"], "cpu_spread": [cpu_ratio["q25"], cpu_ratio["q75"]],
            "forward_ms": round(1e3 * statistics.median(times["forward"]), 3), "mask_ms": round(1e3 * statistics.median(times["mask"]), 3),
            "cpu_forward_ms": round(1e3 * statistics.median(cpu["forward"]), 3), "cpu_mask_ms": round(1e3 * statistics.median(cpu["mask"]), 3),
            "input_shape": list(x.shape[1:])}


def audio_seconds(recipe: str = "piq-sounds", repeats: int = 7, device: str | None = None) -> dict[str, Any]:
    """Seconds from a 5 s waveform to its interpretation's waveform (spectrogram, mask, input-phase ISTFT)."""
    from interp_core.data import load_split
    from interp_core.data.sounds import SAMPLE_RATE, spectrogram
    from interp_core.methods.piq.audio import interpretation_waveforms
    from interp_core.store.models import load_model

    loaded = load_model(recipe, device)
    test = load_split(loaded.recipe.dataset, "test")
    samples = int(CLIP_SECONDS * SAMPLE_RATE)
    wave = np.concatenate([test.data[i] for i in range(-(-samples // test.data.shape[1]))])[:samples].astype(np.float32)
    waveform = torch.from_numpy(wave)[None]

    def run() -> torch.Tensor:
        x = spectrogram(waveform).to(loaded.device)
        mask = loaded.model.interpret(x).mask
        return interpretation_waveforms(x.cpu(), mask.cpu(), waveform)

    out = run()
    times = _interleaved({"audio": run}, repeats, warmup=1)[0]["audio"]
    return {"audio_seconds": round(statistics.median(times), 4), "audio_spread": [round(min(times), 4), round(max(times), 4)],
            "clip_seconds": CLIP_SECONDS, "spectrogram_shape": list(spectrogram(waveform).shape[1:]),
            "output_samples": int(out.shape[-1])}


def run_piq_benchmark(rounds: int = 60, recipes: tuple[str, ...] = RECIPES, device: str | None = None) -> dict[str, Any]:
    """Time PIQ on every recipe of ``recipes`` (trained first if needed) and a 5 s clip; see the module docstring."""
    per_recipe = {name: mask_over_forward(name, rounds, device) for name in recipes}
    worst = max(per_recipe, key=lambda n: per_recipe[n]["mask_over_forward"])
    result: dict[str, Any] = {
        "mask_over_forward": per_recipe[worst]["mask_over_forward"],
        "mask_over_forward_spread": per_recipe[worst]["spread"],
        "mask_over_forward_recipe": worst,
        "cpu_mask_over_forward": max(row["cpu_mask_over_forward"] for row in per_recipe.values()),
        "per_recipe": per_recipe,
    }
    if "piq-sounds" in recipes:
        result.update(audio_seconds("piq-sounds", device=device))
    result["goals"] = dict(GOALS)
    result["meets_goals"] = {k: (result[k] <= v if k == "mask_over_forward" else result[k] < v) for k, v in GOALS.items() if k in result}
    result["conditions"] = {
        "rounds": rounds, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "torch": torch.__version__,
    }
    for name, row in per_recipe.items():
        print(f"{name}: mask/forward {row['mask_over_forward']} (q25-q75 {row['spread'][0]}-{row['spread'][1]}; "
              f"CPU time {row['cpu_mask_over_forward']}, q25-q75 {row['cpu_spread'][0]}-{row['cpu_spread'][1]}), "
              f"forward {row['forward_ms']} ms, mask {row['mask_ms']} ms", file=sys.stderr)
    return result
