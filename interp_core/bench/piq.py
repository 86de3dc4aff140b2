"""PIQ speed benchmark: the cost of an interpretation relative to the classifier it explains, and of
listening to it.

``run_piq_benchmark()`` returns

* ``mask_over_forward``: time of one interpretation mask (the ``piq`` explainer's ``attribute`` for one
  input and its class: classifier features, adapter, class-restricted quantisation, decoder) / time of
  the classifier's forward pass on that input, for each PIQ recipe (``per_recipe``); the headline is the
  worst recipe (goal <= 3);
* ``audio_seconds``: wall-clock seconds for a 5 s clip from waveform to interpretation waveform:
  spectrogram, mask for the predicted class, and reconstruction with the input's phase (goal < 0.5).

Timings come from the shared harness (:mod:`interp_core.bench.harness`): interleaved A/B rounds in ABBA
order, so load from other processes hits both alike; each ratio is the median of the per-round ratios,
its spread (min and max of those ratios) beside it (and printed to stderr), with the conditions
(threads, load, allocator).
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np
import torch

from interp_core.bench.harness import compare, conditions, timed

GOALS = {"mask_over_forward": 3.0, "audio_seconds": 0.5}
RECIPES = ("piq-digits", "piq-shapes", "piq-sounds")
CLIP_SECONDS = 5.0


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

    r = compare(interpret, forward, rounds=rounds, inner=3)
    return {"mask_over_forward": round(r["ratio"], 3), "spread": [round(r["ratio_min"], 3), round(r["ratio_max"], 3)],
            "cpu_mask_over_forward": round(r["cpu_ratio"], 3), "forward_ms": round(r["b_ms"], 3), "mask_ms": round(r["a_ms"], 3),
            "cpu_forward_ms": round(r["b_cpu_ms"], 3), "cpu_mask_ms": round(r["a_cpu_ms"], 3), "input_shape": list(x.shape[1:])}


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
    t = timed(run, rounds=repeats, warmup=1)
    return {"audio_seconds": round(t["seconds"], 4), "audio_spread": [round(t["seconds_min"], 4), round(t["seconds_max"], 4)],
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
    result["conditions"] = conditions(rounds=rounds)
    for name, row in per_recipe.items():
        print(f"{name}: mask/forward {row['mask_over_forward']} (min {row['spread'][0]}, max {row['spread'][1]}; "
              f"CPU time {row['cpu_mask_over_forward']}), forward {row['forward_ms']} ms, mask {row['mask_ms']} ms", file=sys.stderr)
    return result
