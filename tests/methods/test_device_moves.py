"""The contract moves inputs and targets to the model's device for every method (methods/base.py), so no
method moves them itself. Checked on PyTorch's ``meta`` device, which needs no GPU."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from interp_core.methods.base import Explainer, ExplainerOutput
from interp_core.store.card import ModelCard


class _Recording(Explainer):
    name = "recording"
    summary = "records where its inputs arrive"

    def compute(self, inputs, target, details):
        self.seen = (inputs.device, target.device, target.dtype)
        return ExplainerOutput(inputs.sum(1), [{} for _ in range(inputs.shape[0])])


def test_attribute_and_scores_run_on_the_models_device():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).to("meta")
    card = ModelCard("toy", "standard", "classifier", "", "image", "softmax", ("a", "b"), (3, 4, 4), "0" * 12)
    explainer = _Recording(model, card)
    maps = explainer.attribute(torch.rand(2, 3, 4, 4), np.array([0, 1]))
    assert explainer.seen == (torch.device("meta"), torch.device("meta"), torch.int64)
    assert maps.device.type == "meta" and maps.shape == (2, 4, 4)
    assert explainer.scores(torch.rand(2, 3, 4, 4), [1, 0]).device.type == "meta"
