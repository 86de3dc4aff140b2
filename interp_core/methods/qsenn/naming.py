"""Every Q-SENN feature named twice: through a CLIP model (Q-SENN Eqs. 11-13) and by its best ground-truth
attribute (Eq. 9), checked against each other (Eqs. 14-16, Table 6, Fig. 6). What ``align`` prints and the
Q-SENN view shows; cached in the one result cache (:mod:`interp_core.store.results`) under the model's recipe
hash and weights fingerprint and the CLIP model's identity. The naming of the shipped ``qsenn-shapes`` by the
shipped ``clip-shapes``, its training features and labels ship beside the checkpoints
(:mod:`interp_core.store.shipped_results`), used only for exactly those weights."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interp_core.io import stable_key
from interp_core.methods.clip.alignment import FeatureNaming, naming_from_matrices
from interp_core.store.results import result_dir
from interp_core.store.shipped_results import shipped_or_cached_arrays, shipped_or_cached_json

#: The kind of results these are in the result cache.
CACHE_KIND = "qsenn_views"


def training_features(loaded) -> np.ndarray:
    """Raw pooled features ``(N, n_f)`` of the model on its training split (the F_train of Eqs. 9 and 12),
    cached."""
    from interp_core.data import load_split
    from interp_core.methods.qsenn.metrics import extract_features

    def compute() -> dict[str, np.ndarray]:
        split = load_split(loaded.recipe.dataset, "train")
        return {"features": extract_features(loaded.model, split, loaded.device).numpy()}

    return shipped_or_cached_arrays(result_dir(CACHE_KIND, loaded) / "train_features.npz", compute)["features"]


def training_labels(loaded) -> np.ndarray:
    """The labels ``(N,)`` of the model's training split, in :func:`training_features`' order, cached (and
    shipped with them): class statistics over the training features need no generated split."""
    from interp_core.data import load_split

    def compute() -> dict[str, np.ndarray]:
        return {"labels": np.asarray(load_split(loaded.recipe.dataset, "train").labels)}

    return shipped_or_cached_arrays(result_dir(CACHE_KIND, loaded) / "train_labels.npz", compute)["labels"]


@dataclass(frozen=True)
class ClipChoice:
    """Which CLIP-like model names the features: the recipe ``recipe`` (default ``clip-shapes``), or a
    pretrained open_clip architecture ``model`` with a local ``weights`` file or a ``tag`` whose weights
    are in the local cache (nothing downloads)."""

    recipe: str = "clip-shapes"
    model: str | None = None
    weights: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        if (self.weights or self.tag) and not self.model:
            raise ValueError("Pretrained CLIP weights need their open_clip architecture: name it with --clip-model "
                             "(e.g. ViT-B-32).")
        if self.model and not (self.weights or self.tag):
            raise ValueError(f"Give the weights of {self.model}: a local file (--clip-weights PATH) or a pretrained tag "
                             f"that is in the local cache (--clip-pretrained TAG, e.g. openai).")

    @property
    def label(self) -> str:
        if not self.model:
            return self.recipe
        return f"{self.model} ({self.weights or self.tag})"

    def load(self, device: torch.device | str | None = None):
        """``(ClipEncoder, identity)``; the identity keys the caches (weights fingerprint, or the file's
        path, size and modification time). Fails fast when pretrained weights are not on this machine."""
        if self.model:
            from interp_core.methods.clip.pretrained import load_pretrained_clip

            clip = load_pretrained_clip(self.model, self.weights, tag=self.tag, device=device or "cpu")
            stat = Path(clip.weights_path).stat()
            return clip, f"{self.model}|{self.tag}|{clip.weights_path}|{stat.st_size}|{stat.st_mtime_ns}"
        from interp_core.store.models import load_model

        loaded = load_model(self.recipe, device, train_if_missing=False, show_bar=False)
        return loaded.model, f"{self.recipe}|{loaded.card.fingerprint}"

    def identity(self) -> str | None:
        """What :meth:`load` returns as the identity, read without loading the model (our recipes: the recipe
        and its checkpoint's weights fingerprint); None for pretrained weights, which are loaded to be found."""
        if self.model:
            return None
        from interp_core.store.catalog import checkpoint_fingerprint

        return f"{self.recipe}|{checkpoint_fingerprint(self.recipe)}"


def concept_prompts_for(dataset: str) -> dict[str, list[str]]:
    """The concept prompts of a dataset's attributes, in its attribute order (the shapes datasets)."""
    from interp_core.data import dataset_info
    from interp_core.data.captions import concept_prompts

    prompts = concept_prompts()
    names = tuple(dataset_info(dataset).attribute_names)
    if names != tuple(prompts):
        raise ValueError(f"Dataset {dataset!r} has no concept prompts for a CLIP model (only the shapes datasets do).")
    return prompts


def has_concept_prompts(dataset: str) -> bool:
    try:
        concept_prompts_for(dataset)
    except ValueError:
        return False
    return True


def feature_naming(loaded, clip: ClipChoice | None = None, *, encoder=None) -> FeatureNaming:
    """Every feature of the loaded Q-SENN family model named through CLIP (A_clip, Eqs. 11-13) and by the
    dataset's attributes (A_gt, Eq. 9), with Table 6's validation and Fig. 6's bins. Cached per model
    weights and CLIP identity. ``encoder``: an already loaded ``(ClipEncoder, identity)`` of ``clip``."""
    from interp_core.data import load_split
    from interp_core.methods.clip.alignment import ClipFeatureAlignment
    from interp_core.methods.qsenn.metrics import alignment_matrix

    clip = clip or ClipChoice()
    dataset = loaded.recipe.dataset
    prompts = concept_prompts_for(dataset)
    # A cached naming needs the CLIP model's identity only: our CLIP recipes are loaded only to compute one.
    model, identity = encoder or (None, clip.identity())
    if identity is None:
        model, identity = clip.load(loaded.device)

    def compute() -> dict[str, Any]:
        encoder_model = model if model is not None else clip.load(loaded.device)[0]
        train = load_split(dataset, "train")
        features = training_features(loaded)
        images = encoder_model.embed_split(train).numpy()
        concepts = encoder_model.prompt_embeddings(prompts).cpu().numpy()
        a_clip = ClipFeatureAlignment().fit(features, images, concepts).alignment_
        a_gt = alignment_matrix(features, train.extras["attributes"])
        return {"clip": identity, "concepts": list(prompts), "a_clip": a_clip.tolist(),
                "a_gt": np.where(np.isnan(a_gt), None, a_gt).tolist()}

    cached = shipped_or_cached_json(result_dir(CACHE_KIND, loaded) / f"naming-{stable_key(identity)}.json", compute)
    a_gt = np.array([[np.nan if v is None else v for v in row] for row in cached["a_gt"]], dtype=np.float64)
    return naming_from_matrices(np.asarray(cached["a_clip"]), a_gt, cached["concepts"])


def attribute_strength(loaded, naming: FeatureNaming) -> np.ndarray:
    """Per feature ``(n_f,)``: its best A_gt value divided by mean(F - min F) (Eq. 10's per-feature term),
    so the attribute alignments of different features compare."""
    features = training_features(loaded)
    scale = (features - features.min(0)).mean(0)
    return np.where(scale > 0, naming.attribute_value / np.where(scale > 0, scale, 1.0), 0.0)


def align_report(loaded, clip: ClipChoice | None = None, *, encoder=None) -> dict[str, Any]:
    """What ``python -m interp_core align`` prints: Table 6's numbers (the CLIP naming's ``pos_full``,
    ``pos_pred``, ``pos_pred_rel``, the random and optimal static baselines'), Fig. 6's bins, and each
    feature's best CLIP label and best attribute label with their values."""
    clip = clip or ClipChoice()
    naming = feature_naming(loaded, clip, encoder=encoder)
    strength = attribute_strength(loaded, naming)
    weight = loaded.model.decision_weight.detach().cpu()
    features = naming.features()
    for row in features:
        row["attribute_r"] = float(strength[row["feature"]])
        row["classes"] = int((weight[:, row["feature"]] != 0).sum())
    return {"recipe": loaded.name, "fingerprint": loaded.card.fingerprint, "clip": clip.label, **naming.summary(),
            "certainty_bins": [{k: b[k] for k in ("bin", "low", "high", "mean", "median", "features")} for b in naming.bins],
            "features": features}
