"""The samples a view opens with: the first test sample the view's model classifies correctly, as the
dashboard's input widget hands it over."""
from __future__ import annotations

import numpy as np
import torch

from interp_core.evaluation.models import loaded as ready
from interp_core.inputs import InputSample
from interp_core.store.recipes import get_recipe


@torch.no_grad()
def _predictions(name: str, inputs: torch.Tensor) -> np.ndarray | None:
    """Predicted classes ``(N,)`` of ready model ``name`` on ``inputs``, or None when its forward does not
    return class scores ``(N, classes)`` (an interpreter such as PIQ's, which explains a frozen classifier)."""
    model = ready(name)
    try:
        out = model.model(inputs.to(model.device))
    except (TypeError, RuntimeError, ValueError):
        return None
    if not isinstance(out, torch.Tensor) or out.shape != (len(inputs), model.card.num_classes):
        return None
    return out.argmax(1).cpu().numpy()


def first_correct_index(name: str, split, look: int = 64) -> int:
    """The first of the first ``look`` samples of ``split`` that model ``name`` classifies correctly (for a
    model that does not classify by itself, the classifier it is built on: ``recipe.depends_on``); 0 if
    none is."""
    count = min(look, len(split))
    inputs = split.inputs(list(range(count)))
    chain = [name]
    while chain:
        predicted = _predictions(chain[0], inputs)
        if predicted is not None:
            hits = np.flatnonzero(predicted == split.labels[:count])
            return int(hits[0]) if len(hits) else 0
        chain = list(get_recipe(chain[0]).depends_on)
    return 0


def gallery_sample(split, index: int, dataset: str) -> InputSample:
    """Test sample ``index`` of ``split`` (the loaded test split of ``dataset``) for the input widget."""
    from interp_core.data.preview import sample_image

    masks = split.extras.get("masks")
    waveform = split.data[index] if split.info.kind == "audio" else None
    return InputSample(split.inputs([index])[0], sample_image(split, index, with_mask=False), f"{dataset} test #{index}",
                         int(split.labels[index]), masks[index] if masks is not None else None, waveform)
