"""PIQ interpretations through the common explainer contract (``piq``).

It explains PIQ models (recipe kind ``piq``: a frozen classifier with its trained interpreter), for the
target class asked for: the quantiser then uses that class's keys only, so the predicted class gives the
paper's interpretation and any other class the interpretation "as if" the classifier had decided it.
The attribution map is the soft mask itself, at input resolution, so PIQ takes part in Compare and the
pointing game like any method.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from interp_core.methods.base import Explainer, ExplainerOutput, Explanation, register_explainer
from interp_core.methods.piq.model import PIQModel


@register_explainer("piq")
class PIQExplainer(Explainer):
    """The PIQ mask ``(N, H, W)`` in (0, 1) for each row's target class (Eq. 1 with ``D_target``).

    With details: ``mask`` (the same map, numpy) and extras ``prediction`` (the classifier's class),
    ``codes`` ``(h, w)`` (the dictionary keys used, all of the target's part) and ``area`` (mean of the
    mask). For audio models, :meth:`explain` adds ``waveform``: the interpretation as sound, rebuilt with
    the input's phase when the input's ``waveform`` is given, else with a Griffin-Lim estimate of it
    (extras ``phase`` says which; :mod:`interp_core.methods.piq.audio`).
    """

    inherent = True
    modalities = ("image", "audio")
    panels = ("mask",)
    summary = "PIQ: class-specific quantised interpretation mask"
    kinds = ("piq",)
    model_type = PIQModel

    def compute(self, inputs: torch.Tensor, target: torch.Tensor, details: bool) -> ExplainerOutput:
        result = self.model.interpret(inputs, target)
        maps = result.mask.float()
        if not details:
            return ExplainerOutput(maps, [{} for _ in range(inputs.shape[0])])
        masks = maps.cpu().numpy()
        prediction = result.prediction.cpu().numpy()
        codes = result.indices.cpu().numpy()
        rows = [{"mask": masks[i], "prediction": int(prediction[i]), "codes": codes[i], "area": float(masks[i].mean())}
                for i in range(inputs.shape[0])]
        return ExplainerOutput(maps, rows)

    def explain(self, x: torch.Tensor, targets: Sequence[int], waveform: np.ndarray | torch.Tensor | None = None) -> list[Explanation]:
        """As :meth:`Explainer.explain`; for audio also the interpretation's ``waveform`` ``(S,)`` float32,
        with the phase of ``waveform`` (the input's audio ``(S,)``) when given."""
        explanations = super().explain(x, targets)
        if self.card.modality != "audio" or not explanations:
            return explanations
        from interp_core.methods.piq.audio import interpretation_waveforms, invertible

        if not invertible(tuple(x.shape)):
            return explanations
        masks = torch.stack([torch.as_tensor(e.mask) for e in explanations])
        spectrograms = x.detach().float().cpu().unsqueeze(0).expand(len(explanations), *x.shape)
        phase = None if waveform is None else torch.as_tensor(np.asarray(waveform, dtype=np.float32)).view(1, -1).expand(len(explanations), -1)
        waves = interpretation_waveforms(spectrograms, masks, phase).numpy().astype(np.float32)
        for e, wave in zip(explanations, waves):
            e.waveform = wave
            e.extras["phase"] = "input" if waveform is not None else "griffin-lim"
        return explanations
