"""KMEx post-hoc prototypes for frozen CNNs ("Post-hoc self-explanation of CNNs"; KMEx, TMLR 2024).

- :mod:`.prototypes`: :class:`ClassifierSEM` (classifier columns ``c_j`` as prototypes, Theorem 1) and
  :class:`KMEx` (per-class k-means prototypes of the pooled embedding, nearest-prototype classifier, Sec. 3.2).
- :mod:`.encoder`: :class:`EncoderKMEx`, ``combine_blocks`` (Sec. 3.3, Eqs. 6-10), ``classifier_attribution``
  and ``propagate_attribution`` (Eq. 11 and segment-wise averaging).
- :mod:`.model`: :class:`KMExModel`, everything fitted for one CNN as plain tensors; :mod:`.fitting`:
  the estimator :class:`KMExFitter` and ``evaluate_kmex`` (Tables 1 and 2).
- :mod:`.recipes` (``kmex-shapes``, ``kmex-digits``, ``kmex-sounds``), :mod:`.training` (their handler),
  :mod:`.explainers` (``kmex-b4``, ``kmex-b234``, images and spectrograms), :mod:`.projection` (the cached
  UMAP of Fig. 2), :mod:`.views` (what the Prototypes view shows), :mod:`.listening` (the sounds of a sound
  model's prototypes) and :mod:`.localisation` (the maps on ground-truth masks against Grad-CAM).

Importing the package is light (it only registers the view); names are loaded from their modules on use.
"""
import importlib

from interp_core.views import View, register_view

register_view(View("prototypes", "Prototypes (KMEx)", ":material/hub:", "Methods",
                   "k-means prototypes of a frozen CNN, the UMAP of Fig. 2, B4/B234 explanation maps, Tables 1 and 2", order=10,
                   warm="interp_core.methods.kmex.views:warm_up"))

_EXPORTS = {
    "encoder": ("EncoderKMEx", "classifier_attribution", "combine_blocks", "propagate_attribution", "segment_average"),
    "explainers": ("KMExB4", "KMExB234"),
    "fitting": ("KMExFitter", "evaluate_kmex"),
    "kmeans": ("classwise_kmeans",),
    "localisation": ("mask_overlap_metrics",),
    "model": ("KMExModel", "StaleKMExError", "weights_fingerprint"),
    "patches": ("PrototypePatch", "prototype_palette"),
    "projection": ("KINDS", "Projection", "default_classes", "kmex_projection", "umap_2d"),
    "prototypes": ("ClassifierSEM", "KMEx", "NotFittedError", "prototype_cosines"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
