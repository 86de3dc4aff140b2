"""KMEx post-hoc prototypes for frozen CNNs ("Post-hoc self-explanation of CNNs"; KMEx, TMLR 2024).

- :class:`ClassifierSEM`: the classifier columns ``c_j`` as prototypes (Theorem 1).
- :class:`KMEx`: per-class k-means prototypes of the pooled embedding, nearest-prototype classifier (Sec. 3.2).
- :class:`EncoderKMEx`, :func:`combine_blocks`: prototypes of multi-block feature activations, explanation
  maps and count-based prediction (Sec. 3.3, Eqs. 6-10); :func:`classifier_attribution` and
  :func:`propagate_attribution`: gradient-free attribution (Eq. 11 and segment-wise averaging).
- :class:`KMExModel`, :func:`fit_kmex_model`, :func:`evaluate_kmex`: everything fitted for one CNN, stored
  as plain tensors (recipes ``kmex-shapes``, ``kmex-digits``), and its Table 1/2 metrics.
- :func:`kmex_projection`: the cached UMAP of Fig. 2. Explainers ``kmex-b4`` and ``kmex-b234``.
- :mod:`~interp_core.methods.kmex.views`: what the Prototypes view shows (predictions, palette maps with
  their legend of representative patches, Tables 1 and 2 as rows, the interactive Fig. 2).
"""
from interp_core.methods.kmex.encoder import (
    EncoderKMEx,
    classifier_attribution,
    combine_blocks,
    propagate_attribution,
    segment_average,
)
from interp_core.methods.kmex.explainers import KMExB4, KMExB234, kmex_for_backbone
from interp_core.methods.kmex.fitting import evaluate_kmex, fit_kmex_model
from interp_core.methods.kmex.kmeans import classwise_kmeans, kmeans
from interp_core.methods.kmex.model import KMExModel, StaleKMExError, weights_fingerprint
from interp_core.methods.kmex.patches import PrototypePatch, prototype_palette, segments_to_rgba
from interp_core.methods.kmex.projection import KINDS, Projection, kmex_projection, umap_2d
from interp_core.methods.kmex.prototypes import ClassifierSEM, KMEx, NotFittedError, prototype_cosines
from interp_core.methods.kmex.views import (
    KMExTables,
    LegendEntry,
    ModelPrediction,
    VariantView,
    clicked_point,
    explain_sample,
    kmex_predictions,
    kmex_tables,
    point_preview,
    projection_figure,
    projection_sources,
)

__all__ = [
    "KINDS", "ClassifierSEM", "EncoderKMEx", "KMEx", "KMExB4", "KMExB234", "KMExModel", "KMExTables", "LegendEntry",
    "ModelPrediction", "NotFittedError", "Projection", "PrototypePatch", "StaleKMExError", "VariantView", "classifier_attribution", "classwise_kmeans", "clicked_point", "combine_blocks",
    "evaluate_kmex", "explain_sample", "fit_kmex_model", "kmeans", "kmex_for_backbone", "kmex_predictions", "kmex_projection",
    "kmex_tables", "point_preview", "projection_figure", "projection_sources", "propagate_attribution",
    "prototype_cosines", "prototype_palette", "segment_average", "segments_to_rgba", "umap_2d", "weights_fingerprint",
]
