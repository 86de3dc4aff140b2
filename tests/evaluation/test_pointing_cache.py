"""The pointing game's resumable cache (evaluation layer): an interrupted run resumes exactly, a corrupt or
foreign cache is recomputed."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.evaluation.pointing import evaluate_grids_resumable
from interp_core.metrics.pointing_game import GridSpec, sample_grids
from tests.metrics.test_pointing_game import OracleExplainer, confident_logits, toy_split


class Stop(Exception):
    pass


class NoisyExplainer(OracleExplainer):
    """Oracle plus seeded noise: scores differ per grid, so a wrong resume would show."""

    def maps(self, inputs, target):
        self.calls += 1
        g = torch.Generator().manual_seed(int(inputs.sum() * 1000) % 2**31)
        return self.mask(inputs, target) + torch.rand(inputs.shape[0], *inputs.shape[-2:], generator=g) - 0.3


def test_cache_resumes_an_interrupted_run_exactly(tmp_path):
    split = toy_split(per_class=8)
    grids = sample_grids(confident_logits(split.labels, np.full(len(split), 0.9)), split.labels, GridSpec(size=2), 10)
    full = evaluate_grids_resumable(NoisyExplainer().attribute, split, grids, size=2, smooth=3, cache_file=tmp_path / "a.npz")

    def interrupt_after(k):
        def progress(step):
            if step.fraction >= k / len(grids):
                raise Stop

        return progress

    cache = tmp_path / "b.npz"
    with pytest.raises(Stop):
        evaluate_grids_resumable(NoisyExplainer().attribute, split, grids, size=2, smooth=3, cache_file=cache, progress=interrupt_after(4))
    with np.load(cache) as saved:
        assert saved["scores"].shape == (4, 4)
    resumed_explainer = NoisyExplainer()
    resumed = evaluate_grids_resumable(resumed_explainer.attribute, split, grids, size=2, smooth=3, cache_file=cache)
    assert resumed_explainer.calls == len(grids) - 4
    assert np.array_equal(resumed, full)
    again = NoisyExplainer()
    assert np.array_equal(evaluate_grids_resumable(again.attribute, split, grids, size=2, smooth=3, cache_file=cache), full)
    assert again.calls == 0
    # a cache written for other grids is not reused
    other = NoisyExplainer()
    evaluate_grids_resumable(other.attribute, split, grids[::-1].copy(), size=2, smooth=3, cache_file=cache)
    assert other.calls == len(grids)


def test_corrupt_cache_is_recomputed(tmp_path):
    split = toy_split()
    grids = sample_grids(confident_logits(split.labels, np.full(len(split), 0.9)), split.labels, GridSpec(size=2), 3)
    cache = tmp_path / "c.npz"
    cache.write_bytes(b"not a zip file")
    explainer = OracleExplainer()
    scores = evaluate_grids_resumable(explainer.attribute, split, grids, size=2, smooth=3, cache_file=cache)
    assert explainer.calls == 3 and np.array_equal(scores, np.ones((3, 4)))
