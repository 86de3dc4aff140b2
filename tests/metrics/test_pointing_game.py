"""Grid pointing game: grid sampling, the localisation score, the resumable cache, and a run by name."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.data.base import DatasetInfo, Split
from interp_core.methods.base import Explainer, ExplainerOutput
from interp_core.store.card import ModelCard
from interp_core.metrics.pointing_game import (
    GridSpec,
    PointingGameError,
    cell_fractions,
    class_colour_templates,
    colour_prior_maps,
    default_smooth,
    evaluate_grids,
    localisation_scores,
    make_grid,
    reference_scores,
    sample_grids,
    summarize_scores,
)

K = 12  # classes of the toy split
IMG = 16


def toy_split(per_class: int = 6) -> Split:
    """Images of 16x16 black background with a 6x6 square (rows/cols 5..10) whose red value encodes the
    class, ``(label + 1) / K``; green is 1 inside the square (the ground-truth mask)."""
    labels = np.repeat(np.arange(K), per_class)
    images = np.zeros((len(labels), IMG, IMG, 3), dtype=np.float32)
    images[:, 5:11, 5:11, 0] = ((labels + 1) / K)[:, None, None]
    images[:, 5:11, 5:11, 1] = 1.0
    info = DatasetInfo("toy", "image", tuple(f"c{i}" for i in range(K)), (3, IMG, IMG))
    to_input = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float()
    return Split(info, images, labels.astype(np.int64), to_input, {"masks": images[..., 1] > 0})


class _Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))


class OracleExplainer(Explainer):
    """The ground-truth mask of the target class's object: 1 on it, 0 elsewhere (reads the class code)."""

    name = "oracle"

    def __init__(self):
        holder = _Holder()
        super().__init__(holder, ModelCard.for_module(holder, family="test", num_classes=K))
        self.calls = 0

    def compute(self, inputs, target, details):
        return ExplainerOutput(self.maps(inputs, target), [{} for _ in range(inputs.shape[0])])

    def maps(self, inputs, target):
        self.calls += 1
        return self.mask(inputs, target)

    @staticmethod
    def mask(inputs, target):
        code = ((target.float() + 1) / K)[:, None, None]
        return ((inputs[:, 1] > 0) & ((inputs[:, 0] - code).abs() < 1e-4)).float()


class UniformExplainer(OracleExplainer):
    def maps(self, inputs, target):
        return torch.ones(inputs.shape[0], *inputs.shape[-2:])


def confident_logits(labels: np.ndarray, conf: np.ndarray) -> torch.Tensor:
    """Logits whose argmax is the label with softmax probability ``conf`` over ``K`` classes."""
    n = len(labels)
    rest = (1 - conf) / (K - 1)
    logits = torch.log(torch.from_numpy(np.repeat(rest[:, None], K, 1)))
    logits[torch.arange(n), torch.from_numpy(labels)] = torch.log(torch.from_numpy(conf))
    return logits.float()


# ---------------------------------------------------------------- score

@pytest.mark.parametrize("size", [2, 3])
def test_oracle_scores_one_and_uniform_scores_one_over_n(size):
    split = toy_split()
    grids = sample_grids(confident_logits(split.labels, np.full(len(split), 0.9)), split.labels, GridSpec(size=size), 6)
    smooth = default_smooth(IMG)
    oracle = evaluate_grids(OracleExplainer().attribute, split, grids, size=size, smooth=smooth)
    uniform = evaluate_grids(UniformExplainer().attribute, split, grids, size=size, smooth=smooth)
    assert oracle.shape == (6, size * size)
    assert np.array_equal(oracle, np.ones_like(oracle))
    assert np.allclose(uniform, 1 / size**2, atol=1e-12)


def _reference_score(maps_c: np.ndarray, cell: int, size: int, k: int) -> float:
    """Loop-by-loop sum -> smooth (mean of the in-map window) -> clamp -> per-cell sum -> ratio."""
    summed = maps_c.sum(0)
    h, w = summed.shape
    r = k // 2
    smooth = np.zeros_like(summed)
    for i in range(h):
        for j in range(w):
            smooth[i, j] = summed[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1].mean()
    pos = np.maximum(smooth, 0)
    ch, cw = h // size, w // size
    cells = [pos[(c // size) * ch:(c // size + 1) * ch, (c % size) * cw:(c % size + 1) * cw].sum() for c in range(size * size)]
    return cells[cell] / sum(cells) if sum(cells) > 0 else 0.0


def test_score_order_is_sum_smooth_clamp_pool():
    # 2x2 grid of 4x4 cells. Channel 0 puts +3 on cell 0's right edge, channel 1 puts -2 there and -1.5
    # just across the border in cell 1; cell 3 holds a weak +0.5.
    maps = torch.zeros(1, 2, 8, 8, dtype=torch.float64)
    maps[0, 0, 1, 3] = 3.0
    maps[0, 1, 1, 3] = -2.0
    maps[0, 1, 1, 4] = -1.5
    maps[0, 0, 6, 6] = 0.5
    k = 3
    ours = float(localisation_scores(maps, torch.tensor([0]), 2, k))
    assert ours == pytest.approx(_reference_score(maps[0].numpy(), 0, 2, k), abs=1e-12)
    # By hand: the channel sum is +1 at (1,3), -1.5 at (1,4), +0.5 at (6,6). After the 3x3 blur only
    # column 2 of cell 0 stays positive: 1/6 (row 0, 6-pixel window) + 2 * 1/9 = 7/18. Cell 3 gets the
    # whole +0.5 spread over windows of 9, 6 and 4 pixels: 4 * .5/9 + 4 * .5/6 + .5/4 = 49/72.
    assert ours == pytest.approx((7 / 18) / (7 / 18 + 49 / 72), abs=1e-12)
    summed = maps[0].sum(0, keepdim=True)[None]
    blur = lambda m: F.avg_pool2d(m, k, 1, k // 2, count_include_pad=False)
    cell0 = lambda m: m[..., :4, :4].sum() / m.sum()
    alternatives = {
        "clamp before smoothing": cell0(blur(summed.clamp(min=0))),
        "clamp channels before summing": cell0(blur(maps.clamp(min=0)).sum(1).clamp(min=0)),
        "no clamp": cell0(blur(summed)),
    }
    for name, value in alternatives.items():
        assert abs(float(value) - ours) > 0.05, f"{name} gives the same score; the test map does not separate orders"


def test_score_is_zero_without_positive_attribution_and_smooth_must_be_odd():
    maps = -torch.rand(2, 6, 6)
    assert torch.equal(localisation_scores(maps, torch.tensor([0, 3]), 2, 3), torch.zeros(2, dtype=torch.float64))
    with pytest.raises(PointingGameError, match="odd"):
        cell_fractions(maps, 2, smooth=4)
    with pytest.raises(PointingGameError, match="grid"):
        cell_fractions(torch.rand(1, 7, 7), 2)


def test_default_smooth_scales_the_reference_kernel():
    assert [default_smooth(s) for s in (224, 64, 32, 28)] == [15, 5, 3, 3]


def test_make_grid_is_row_major():
    images = torch.arange(9, dtype=torch.float32).view(9, 1, 1, 1).expand(9, 2, 3, 3)
    grid = make_grid(images, 3)
    assert grid.shape == (2, 9, 9)
    for i in range(9):
        r, c = divmod(i, 3)
        assert torch.all(grid[:, 3 * r:3 * r + 3, 3 * c:3 * c + 3] == i)


def test_summary_statistics():
    s = summarize_scores(np.array([[0.0, 0.25], [0.5, 1.0]]))
    assert s["n"] == 4 and s["mean"] == pytest.approx(0.4375) and s["median"] == pytest.approx(0.375)
    assert s["q25"] == pytest.approx(0.1875) and s["q75"] == pytest.approx(0.625)


# ---------------------------------------------------------------- grids

def test_grids_take_distinct_confident_correct_images_most_confident_first():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(K), 10)
    conf = rng.uniform(0.2, 1.0, len(labels))
    logits = confident_logits(labels, conf)
    wrong = rng.random(len(labels)) < 0.15
    logits[wrong] = logits[wrong].roll(1, dims=1)  # argmax moves to another class
    spec = GridSpec(size=3, seed=42, threshold=0.5)
    grids = sample_grids(logits, labels, spec, 1000)
    usable = (~wrong) & (conf > 0.5)
    assert len(grids) > 3
    assert len(np.unique(grids)) == grids.size  # no image twice
    assert usable[grids].all()
    for g in grids:
        assert len(set(labels[g])) == 9
    # the first image used from each class is its most confident usable one
    for c in range(K):
        used = [i for i in grids.flatten() if labels[i] == c]
        if used:
            assert conf[used[0]] == conf[usable & (labels == c)].max()
    # fewer than 9 classes with images left ends the sampling: what is left cannot fill a grid
    left = {c: int((usable & (labels == c)).sum() - (labels[grids] == c).sum()) for c in range(K)}
    assert sum(v > 0 for v in left.values()) < 9


def test_grids_rank_saturated_confidences_by_logit():
    """Sigmoid confidences of 1.0 in float32 tie; the logit still orders them (largest first)."""
    labels = np.repeat(np.arange(4), 3)
    logits = torch.full((12, 4), -30.0)
    margin = torch.tensor([20.0, 40.0, 30.0] * 4)  # sigmoid(20..40) == 1.0 in float32
    logits[torch.arange(12), torch.as_tensor(labels)] = margin
    assert bool((torch.sigmoid(margin.float()) == 1.0).all())
    grids = sample_grids(logits, labels, GridSpec(size=2, confidence="sigmoid"), 3)
    first = {int(labels[i]): int(i) for i in grids[0]}
    assert all(i % 3 == 1 for i in first.values())  # the 40-logit image of every class comes first
    assert all(i % 3 == 2 for i in grids[1])  # then the 30s


def test_grid_sampling_is_seeded_and_prefix_stable():
    labels = np.repeat(np.arange(K), 20)
    logits = confident_logits(labels, np.linspace(0.6, 0.99, len(labels)))
    a = sample_grids(logits, labels, GridSpec(seed=42), 12)
    b = sample_grids(logits, labels, GridSpec(seed=42), 12)
    c = sample_grids(logits, labels, GridSpec(seed=7), 12)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(sample_grids(logits, labels, GridSpec(seed=42), 5), a[:5])


def test_confidence_filter_follows_the_loss():
    labels = np.arange(K)
    logits = torch.full((K, K), -1.0)
    logits[labels, labels] = 0.5  # sigmoid(0.5) = 0.62 > 0.5, softmax = e^.5 / (e^.5 + 11 e^-1) = 0.29 < 0.5
    assert len(sample_grids(logits, labels, GridSpec(size=2, confidence="sigmoid"), 5)) == 3
    assert len(sample_grids(logits, labels, GridSpec(size=2, confidence="softmax"), 5)) == 0
    assert len(sample_grids(logits, labels, GridSpec(size=2, confidence="softmax", threshold=0.05), 5)) == 3


def test_scoring_reads_and_writes_no_file(tmp_path, monkeypatch):
    """Pure scoring: an attribute function in, scores out, nothing opened for writing."""
    import builtins

    split = toy_split()
    grids = sample_grids(confident_logits(split.labels, np.full(len(split), 0.9)), split.labels, GridSpec(size=2), 2)
    real_open = builtins.open

    def no_writes(file, mode="r", *args, **kwargs):
        assert not any(c in mode for c in "wax+"), f"pointing-game scoring opened {file} for writing"
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_writes)
    calls = []

    def attribute(inputs, target):
        calls.append(len(target))
        return OracleExplainer.mask(inputs, target)

    assert np.array_equal(evaluate_grids(attribute, split, grids, size=2, smooth=3), np.ones((2, 4)))
    assert calls == [4, 4]  # one batch of the four targets per grid


def test_references_oracle_one_uniform_chance_colour_prior_from_class_colours():
    split = toy_split(per_class=2)
    templates = class_colour_templates(split, K)
    # Object pixels only: red encodes the class, green is 1, blue 0.
    expected = torch.stack([(torch.arange(K) + 1) / K, torch.ones(K), torch.zeros(K)], 1)
    assert torch.allclose(templates, expected, atol=1e-6)
    grids = np.array([[0, 2, 4, 6], [8, 10, 12, 14]])  # classes 0-3 and 4-7, one image each
    refs = reference_scores(split, grids, size=2, smooth=3, templates=templates)
    assert np.allclose(refs["oracle"], 1.0) and np.allclose(refs["uniform"], 0.25)
    # Neighbouring classes' reds differ by 1/12, well inside the prior's width: the prior points at
    # every object about equally, so it scores above chance (the black background is far) but far below 1.
    assert np.all(refs["colour_prior"] > 0.25) and np.all(refs["colour_prior"] < 0.6)
    # A class whose colour no other object shares is found by colour alone.
    maps = colour_prior_maps(make_grid(split.inputs(grids[0]), 2), templates, torch.tensor([0, 1, 2, 3]), sigma=0.01)
    assert localisation_scores(maps, torch.arange(4), 2).min() > 0.99


def test_references_without_masks_have_no_oracle():
    split = toy_split(per_class=2)
    split = Split(split.info, split.data, split.labels, split.to_input, {})
    refs = reference_scores(split, np.array([[0, 2, 4, 6]]), size=2, smooth=1, templates=class_colour_templates(split, K))
    assert "oracle" not in refs and np.allclose(refs["uniform"], 0.25)
