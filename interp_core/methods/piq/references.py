"""Reference rows printed by ``eval`` beside PIQ's fidelity-in and faithfulness (:mod:`interp_core.store.references`).

Faithfulness (PIQ Eq. 4, ``f_c(x) - f_c(x - x_int)``) and fidelity-in (Eq. 3) reward a mask that keeps the
decision's evidence in and takes it away when removed. Both also reward *area*: a mask that covers much of
a small image removes most of any digit, wherever it lies. The null that separates the two is each test
input's own PIQ mask with its values moved to random places (a seeded random permutation of the pixel
positions of every mask): the same area and the same distribution of mask values, no knowledge of where
the evidence is. Like the pointing game's uniform map and colour prior, it is printed beside the figure
it qualifies: ``shuffled_mask_fidelity_in`` and ``shuffled_mask_faithfulness`` (the mean over ``repeats``
permutations, with ``..._range`` over them), on the same test inputs and with the same scoring as
:func:`interp_core.methods.piq.metrics.evaluate_piq` (the soft mask times the input, the classifier's own
probabilities). A method is informative about *where* only by its margin over this null.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from interp_core.data import load_split
from interp_core.methods.piq.model import PIQModel
from interp_core.metrics.faithfulness import faithfulness, fidelity_in
from interp_core.store.card import ModelCard
from interp_core.store.models import load_model
from interp_core.store.references import register_references


def shuffled_masks(masks: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each mask of ``masks`` ``(N, H, W)`` with its values at random positions (one permutation per mask)."""
    flat = masks.flatten(1)
    order = torch.rand(flat.shape, generator=generator).argsort(1).to(flat.device)
    return flat.gather(1, order).view_as(masks)


@torch.no_grad()
def shuffled_mask_scores(model: PIQModel, dataset: str, card: ModelCard, *, repeats: int = 3, seed: int = 0,
                         test_samples: int | None = None, batch_size: int = 100) -> dict[str, Any]:
    """Fidelity-in and faithfulness of the area-matched random null (module docstring) on the test split of
    ``dataset`` (the first ``test_samples``; None: all). ``card``: the classifier's card (its probabilities)."""
    device = next(model.parameters()).device
    model.eval()
    test = load_split(dataset, "test")
    n = len(test) if test_samples is None else min(int(test_samples), len(test))
    generator = torch.Generator().manual_seed(seed)
    p, kept, removed = [], [[] for _ in range(repeats)], [[] for _ in range(repeats)]
    for start in range(0, n, batch_size):
        x = test.inputs(np.arange(start, min(n, start + batch_size))).to(device)
        result = model.interpret(x)
        p.append(card.probabilities(result.logits).cpu())
        for r in range(repeats):
            m = shuffled_masks(result.mask, generator)[:, None]
            kept[r].append(card.probabilities(model(m * x)).cpu())
            removed[r].append(card.probabilities(model((1 - m) * x)).cpu())
    p = torch.cat(p)
    fidelity = [fidelity_in(p, torch.cat(o)) for o in kept]
    faithful = [faithfulness(p, torch.cat(q)) for q in removed]
    return {"shuffled_mask_fidelity_in": float(np.mean(fidelity)), "shuffled_mask_fidelity_in_range": [min(fidelity), max(fidelity)],
            "shuffled_mask_faithfulness": float(np.mean(faithful)), "shuffled_mask_faithfulness_range": [min(faithful), max(faithful)],
            "shuffled_mask_repeats": repeats, "shuffled_mask_n": n}


def piq_references(recipe, model: PIQModel, device: torch.device) -> dict[str, Any]:
    """The area-matched random null for every PIQ recipe, on its dataset's whole test split."""
    return shuffled_mask_scores(model, recipe.dataset, load_model(recipe.backbone, device, show_bar=False).card)


register_references("piq", piq_references)
