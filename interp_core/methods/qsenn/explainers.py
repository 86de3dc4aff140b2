"""Q-SENN local explanations through the common explainer contract (``qsenn``).

For an input x and a class c the logit is a sum over the class's features:
logit_c = sum_j W_cj z_j + b_c with z_j = (f_j - mean_j) / std_j and f_j the spatial mean of the map M_j(x).
The explanation gives both views of that sum:

* ``contributions`` ``(n_f,)``: W_cj * z_j, the signed push of each feature toward (or away from) class c;
  they sum with the bias to the logit (zero for the features the class does not use);
* the attribution map: sum_j (W_cj / std_j) M_j(x), bilinearly upsampled to the input (Q-SENN Fig. 4's
  local explanation as one map). The weights are divided by std because that is what multiplies the raw
  maps in the logit: the map's spatial mean (at feature resolution) plus ``offset`` is exactly the logit,
  so it is the class evidence spread over the input, and it joins Compare and the pointing game.

It explains every model of the family (dense, glm-saga5, SLDD, Q-SENN: recipe kinds ``qsenn-dense`` and
``qsenn``), nothing else: the features and the layer come from the model itself.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from interp_core.methods.base import Explainer, ExplainerOutput, register_explainer
from interp_core.methods.qsenn.model import QSENNModel

KINDS = ("qsenn", "qsenn-dense")


@register_explainer("qsenn")
class QSENNExplainer(Explainer):
    """Feature contributions and the class's summed feature maps (see the module docstring).

    With details, each row has ``contributions`` ``(n_f,)`` float and extras ``class_features`` (the
    features j with W_cj != 0, largest |contribution| first), ``weights`` ``(n_f,)`` (W_c), ``activations``
    ``(n_f,)`` (z), ``pooled`` ``(n_f,)`` (raw f), ``feature_maps`` ``(n_f, h, w)`` (raw maps at feature
    resolution), ``feature_ids`` ``(n_f,)`` (backbone channels), ``bias`` (b_c) and ``offset``
    (b_c - sum_j W_cj mean_j / std_j). All numpy."""

    inherent = True
    modalities = ("image", "audio")
    panels = ("heatmap", "signed")
    summary = "Q-SENN: each feature's activation x weight, and the class's weighted feature maps over the input"
    kinds = KINDS
    model_type = QSENNModel

    @torch.no_grad()
    def compute(self, inputs: torch.Tensor, target: torch.Tensor, details: bool) -> ExplainerOutput:
        model: QSENNModel = self.model
        maps = model.feature_maps(inputs)  # (N, n_f, h, w)
        map_weights = model.map_weights[target]  # (N, n_f)
        summed = torch.einsum("nj,njhw->nhw", map_weights, maps)
        attribution = F.interpolate(summed.unsqueeze(1), size=inputs.shape[-2:], mode="bilinear", align_corners=False).squeeze(1)
        if not details:
            return ExplainerOutput(attribution.float(), [{} for _ in range(inputs.shape[0])])
        pooled = maps.mean((2, 3))
        z = model.normalise(pooled)
        weights = model.decision_weight[target]
        contributions = weights * z
        offset = model.map_offset[target]
        rows: list[dict[str, Any]] = []
        ids = model.feature_ids.cpu().numpy()
        for i in range(inputs.shape[0]):
            c = contributions[i]
            used = torch.nonzero(weights[i] != 0).flatten()
            used = used[torch.argsort(c[used].abs(), descending=True, stable=True)]
            rows.append({
                "contributions": c.cpu().numpy(), "class_features": [int(j) for j in used],
                "weights": weights[i].cpu().numpy(), "activations": z[i].cpu().numpy(), "pooled": pooled[i].cpu().numpy(),
                "feature_maps": maps[i].cpu().numpy(), "feature_ids": ids, "bias": float(model.decision_bias[target[i]]),
                "offset": float(offset[i]),
            })
        return ExplainerOutput(attribution.float(), rows)
