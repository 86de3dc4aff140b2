"""SLDD's feature selection on a planted problem, and the glm-saga path run quietly on the CPU."""
from __future__ import annotations

import math

import pytest
import torch

from interp_core.methods.qsenn.sparse import FeatureSelector, glm_path, standardise


def _planted(n: int = 1200, d: int = 30, informative=(3, 17, 25), seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    a, b, c = (X[:, j] * 2 for j in informative)
    logits = torch.stack([a, -a, b, -b, c, -c], 1)
    y = (logits + 0.3 * torch.randn(n, 6, generator=g)).argmax(1)
    return standardise(X)[0], y


def test_selection_picks_the_planted_features():
    X, y = _planted()
    selector = FeatureSelector(3).fit(X, y, 6)
    assert selector.selected_.tolist() == [3, 17, 25]
    assert sorted(selector.order_.tolist()) == [3, 17, 25]
    # Every admitted column is non-zero in the group-sparse fit, every other column is zero.
    nonzero = torch.nonzero(selector.weight_.abs().sum(0) > 0).flatten().tolist()
    assert nonzero == [3, 17, 25]


def test_glm_path_is_quiet_on_the_cpu_and_gets_denser(capsys):
    X, y = _planted(n=600, d=8, informative=(0, 1, 2))
    path = glm_path(X[:500], y[:500], X[500:], y[500:], 6, n_lambdas=6, epochs=4, batch_size=128, segment=4)
    assert capsys.readouterr().out == ""
    assert len(path) == 7 and path[-1].lam == 0.0  # 6 lambdas, then lambda = 0
    lams = [p.lam for p in path[:-1]]
    ratios = [lams[i + 1] / lams[i] for i in range(5)]
    assert ratios == pytest.approx([10 ** (-3 / 5)] * 5, rel=1e-4)  # one log-spaced path across segments
    assert path[0].nonzero_per_class <= path[-2].nonzero_per_class
    assert path[-2].val_accuracy > 0.8
    assert all(p.weight.device.type == "cpu" for p in path)


def test_glm_path_stops_early_when_asked():
    X, y = _planted(n=400, d=8, informative=(0, 1, 2))
    path = glm_path(X[:300], y[:300], X[300:], y[300:], 6, n_lambdas=12, epochs=2, batch_size=128, segment=3,
                    stop=lambda points: len(points) >= 3)
    assert len(path) == 3
