"""PIQ's area-matched random null: the same masks with their values moved to random places."""
from __future__ import annotations

import numpy as np
import torch

from interp_core.data import load_split
from interp_core.methods.piq.references import shuffled_mask_scores, shuffled_masks
from interp_core.metrics.faithfulness import faithfulness, fidelity_in
from interp_core.store.models import load_model


def test_shuffling_keeps_every_masks_values_and_moves_them():
    masks = torch.rand(4, 6, 5) ** 3
    shuffled = shuffled_masks(masks, torch.Generator().manual_seed(1))
    assert shuffled.shape == masks.shape
    for a, b in zip(masks, shuffled):
        torch.testing.assert_close(a.flatten().sort().values, b.flatten().sort().values, rtol=0, atol=0)
        assert not torch.equal(a, b)
    again = shuffled_masks(masks, torch.Generator().manual_seed(1))
    assert torch.equal(again, shuffled)


@torch.no_grad()
def test_null_on_shipped_digits_keeps_the_area_but_not_the_decision():
    """On digits the null removes about as much of the decision as PIQ's own mask (faithfulness mostly
    measures area there), while kept alone its scattered pixels almost never keep the decision."""
    trained = load_model("piq-digits", "cpu", train_if_missing=False, show_bar=False)
    card = load_model("cnn-digits", "cpu", train_if_missing=False, show_bar=False).card
    n = 120
    null = shuffled_mask_scores(trained.model, "digits", card, repeats=2, test_samples=n)
    x = load_split("digits", "test").inputs(np.arange(n))
    result = trained.model.interpret(x)
    m = result.mask[:, None]
    p = card.probabilities(result.logits)
    own_fidelity = fidelity_in(p, card.probabilities(trained.model(m * x)))
    own_faithfulness = faithfulness(p, card.probabilities(trained.model((1 - m) * x)))
    assert null["shuffled_mask_n"] == n and null["shuffled_mask_repeats"] == 2
    low, high = null["shuffled_mask_faithfulness_range"]
    assert low <= null["shuffled_mask_faithfulness"] <= high
    assert null["shuffled_mask_fidelity_in"] < 0.3 < 0.95 < own_fidelity
    assert abs(null["shuffled_mask_faithfulness"] - own_faithfulness) < 0.05
