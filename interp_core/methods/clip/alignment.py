"""Naming a model's features with a CLIP-like model, and checking the names (Q-SENN, AAAI 2024, Eqs. 11-16).

- :class:`ClipFeatureAlignment` (estimator): ``fit(features, image_embeddings, prompt_embeddings)`` learns
  ``alignment_`` = A_clip ``(n_f, n_p)`` (Eqs. 11-13): S = D_clip P_clipᵀ the cosine similarities of
  every training image to every concept prompt, V the features z-scored over the training set, A_clip = VᵀS.
- :func:`validate_alignment` (Eqs. 14-15): for each feature, where the concept A_clip ranks first lands in
  the ground-truth ranking A_gt (``pos_full``), and the same inside the predicted concept's type
  (``pos_pred``, ``pos_pred_rel``).
- :func:`random_baseline` and :func:`optimal_static_baseline` (Eq. 16): Table 6's two baselines.
- :func:`certainty_bins` (Fig. 6): ``pos_pred_rel`` in four evenly sized bins of max(a_clip_i).
- :func:`name_features` / :func:`naming_from_matrices`: all of it at once (:class:`FeatureNaming`), with each
  feature's best CLIP and best attribute label.

Deliberate choices where the paper leaves room (numpy only, no torch):

- A_clip is divided by the number of training images (a mean instead of Eq. 13's sum), so values do not
  grow with the training set; no ranking, argmax or Fig. 6 bin changes.
- Positions are 1-based mid-ranks: tied ground-truth values share the mean of their positions (a dead
  feature, whose A_gt row is constant, scores like a random guess instead of a perfect one).
- The random baseline is the exact expectation of a uniformly random pick, not a sampled estimate:
  pos_full = (n_p + 1)/2, pos_pred = Σ_t (n_t/n_p)(n_t + 1)/2, pos_pred_rel = 1/2 (Table 6: 156.5 for
  CUB's 312 attributes).
- The optimal static baseline names every feature with the one concept whose mean ground-truth position
  (Eq. 16's avg_j) is lowest: the head of the static list that minimises pos_full.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


class NotFittedError(RuntimeError):
    """The estimator was used before ``fit``."""


def concept_groups(attribute_names: Sequence[str]) -> list[str]:
    """The type of each attribute from its ``"type::value"`` name (``"color::red"`` -> ``"color"``); a name
    without ``::`` is its own type."""
    return [name.split("::", 1)[0] for name in attribute_names]


class ClipFeatureAlignment:
    """A_clip: how much each feature's activation goes with each concept prompt's CLIP similarity.

    ``fit(features, image_embeddings, prompt_embeddings)``:
    ``features`` ``(N, n_f)`` the features on the training images (any scale: Eq. 12 standardises them),
    ``image_embeddings`` ``(N, D)`` D_clip and ``prompt_embeddings`` ``(n_p, D)`` P_clip (L2-normalised,
    one per concept, e.g. the mean of its prompts' embeddings). Learned: ``mean_``, ``std_`` ``(n_f,)``
    (Eq. 12), ``alignment_`` ``(n_f, n_p)`` (Eq. 13, divided by N), ``n_images_``.

    ``std_floor``: a feature whose training std is below it (a dead feature) gets V = 0, so A_clip = 0.
    """

    def __init__(self, std_floor: float = 1e-8):
        self.std_floor = std_floor

    def fit(self, features, image_embeddings, prompt_embeddings) -> "ClipFeatureAlignment":
        F = np.asarray(features, dtype=np.float64)
        D = np.asarray(image_embeddings, dtype=np.float64)
        P = np.asarray(prompt_embeddings, dtype=np.float64)
        if F.ndim != 2 or D.ndim != 2 or P.ndim != 2:
            raise ValueError("features (N, n_f), image_embeddings (N, D) and prompt_embeddings (n_p, D) must be 2-D.")
        if len(F) != len(D):
            raise ValueError(f"{len(F)} feature rows but {len(D)} image embeddings: both must cover the same training images.")
        if D.shape[1] != P.shape[1]:
            raise ValueError(f"Image embeddings have {D.shape[1]} dimensions, prompt embeddings {P.shape[1]}.")
        S = D @ P.T  # Q-SENN Eq. 11: S = D_clip P_clipᵀ, (N, n_p)
        self.mean_ = F.mean(0)
        self.std_ = F.std(0)
        live = self.std_ > self.std_floor
        V = np.where(live, (F - self.mean_) / np.where(live, self.std_, 1.0), 0.0)  # Eq. 12
        self.alignment_ = V.T @ S / len(F)  # Eq. 13: A_clip = VᵀS (here a mean over the N images)
        self.n_images_ = len(F)
        return self

    def _check(self) -> None:
        if not hasattr(self, "alignment_"):
            raise NotFittedError("ClipFeatureAlignment is not fitted yet; call fit(features, image_embeddings, prompt_embeddings).")

    def best_concepts(self) -> np.ndarray:
        """``(n_f,)`` index of each feature's best-aligned concept (argmax of its A_clip row)."""
        self._check()
        return self.alignment_.argmax(1)

    def certainty(self) -> np.ndarray:
        """``(n_f,)`` max(a_clip_i): Fig. 6's alignment value, higher for features whose name is surer."""
        self._check()
        return self.alignment_.max(1)


def _ranked(a_gt) -> np.ndarray:
    a_gt = np.asarray(a_gt, dtype=np.float64)
    return np.where(np.isnan(a_gt), -np.inf, a_gt)


def _mid_ranks(values: np.ndarray) -> np.ndarray:
    """1-based descending mid-ranks along the last axis: the largest value is position 1; ties share
    the mean of their positions."""
    v = np.asarray(values, dtype=np.float64)
    greater = (v[..., None, :] > v[..., :, None]).sum(-1)
    equal = (v[..., None, :] == v[..., :, None]).sum(-1)
    return 1.0 + greater + (equal - 1) / 2.0


@dataclass
class AlignmentValidation:
    """Per feature: ``predicted`` (concept index), ``pos_full`` (Eq. 14), ``pos_pred`` and
    ``pos_pred_rel`` (Eq. 15), ``n_type`` (concepts of the predicted type). Positions are 1-based."""

    predicted: np.ndarray
    pos_full: np.ndarray
    pos_pred: np.ndarray
    pos_pred_rel: np.ndarray
    n_type: np.ndarray

    def summary(self) -> dict[str, float]:
        """Table 6's row: the means over features."""
        return {"pos_full": float(np.mean(self.pos_full)), "pos_pred": float(np.mean(self.pos_pred)),
                "pos_pred_rel": float(np.nanmean(self.pos_pred_rel))}


def validate_predictions(predicted: Sequence[int], a_gt, groups: Sequence[str]) -> AlignmentValidation:
    """Eqs. 14-15 for given predicted concepts ``(n_f,)`` against the ground truth ``a_gt`` ``(n_f, n_p)``
    (e.g. Eq. 9's A_gt: higher = more aligned; NaN, an attribute present in all or no images, ranks last);
    ``groups`` ``(n_p,)`` the type of each concept."""
    a_gt = _ranked(a_gt)
    predicted = np.asarray(predicted, dtype=np.int64)
    groups = np.asarray(groups)
    if a_gt.ndim != 2 or len(groups) != a_gt.shape[1] or len(predicted) != len(a_gt):
        raise ValueError(f"a_gt must be (n_f, n_p) with one group per concept and one prediction per feature; got "
                         f"a_gt {a_gt.shape}, {len(groups)} groups, {len(predicted)} predictions.")
    rows = np.arange(len(a_gt))
    pos_full = _mid_ranks(a_gt)[rows, predicted]  # Eq. 14: where argmax(a_clip_i) sits in argsort(a_gt_i)
    pos_pred = np.empty(len(a_gt))
    n_type = np.empty(len(a_gt), dtype=np.int64)
    for i, j in enumerate(predicted):
        same = np.flatnonzero(groups == groups[j])  # restrict A_gt to the predicted concept's type
        pos_pred[i] = _mid_ranks(a_gt[i, same])[np.searchsorted(same, j)]
        n_type[i] = len(same)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(n_type > 1, (n_type - pos_pred) / (n_type - 1), np.nan)  # Eq. 15
    return AlignmentValidation(predicted, pos_full, pos_pred, rel, n_type)


def validate_alignment(a_clip, a_gt, groups: Sequence[str]) -> AlignmentValidation:
    """Eqs. 14-15: the concept of each feature's largest A_clip value, ranked in its A_gt row."""
    return validate_predictions(np.asarray(a_clip).argmax(1), a_gt, groups)


def random_baseline(groups: Sequence[str]) -> dict[str, float]:
    """Table 6's random row: the expected metrics when each feature is named by a uniformly random concept."""
    groups = list(groups)
    n = len(groups)
    sizes = np.array([groups.count(g) for g in dict.fromkeys(groups)], dtype=np.float64)
    return {"pos_full": (n + 1) / 2, "pos_pred": float(np.sum(sizes / n * (sizes + 1) / 2)),
            "pos_pred_rel": 0.5 if (sizes > 1).any() else float("nan")}


def static_order(a_gt) -> np.ndarray:
    """Eq. 16: concepts sorted by their mean position avg_j over features (ascending): the static list
    that minimises pos_full."""
    return np.argsort(_mid_ranks(_ranked(a_gt)).mean(0), kind="stable")


def optimal_static_baseline(a_gt, groups: Sequence[str]) -> AlignmentValidation:
    """Table 6's "static w/ min. pos_full": every feature named by the head of :func:`static_order`
    (chosen knowing A_gt, so no static naming can do better on pos_full)."""
    a_gt = _ranked(a_gt)
    return validate_predictions(np.full(len(a_gt), static_order(a_gt)[0]), a_gt, groups)


def certainty_bins(certainty, pos_pred_rel, n_bins: int = 4) -> list[dict[str, Any]]:
    """Fig. 6: features sorted by max(a_clip_i) and cut into ``n_bins`` evenly sized bins; each bin has its
    ``features`` (indices), the ``low``/``high`` alignment values it spans, and its ``pos_pred_rel`` values
    with their ``mean`` and ``median``."""
    certainty = np.asarray(certainty, dtype=np.float64)
    rel = np.asarray(pos_pred_rel, dtype=np.float64)
    out = []
    for b, members in enumerate(np.array_split(np.argsort(certainty, kind="stable"), n_bins)):
        if len(members) == 0:
            continue
        values = rel[members]
        out.append({"bin": b, "features": members.tolist(), "low": float(certainty[members].min()),
                    "high": float(certainty[members].max()), "pos_pred_rel": values.tolist(),
                    "mean": float(np.nanmean(values)), "median": float(np.nanmedian(values))})
    return out


@dataclass
class FeatureNaming:
    """Every feature named and the names checked (what ``align`` prints and the Q-SENN view shows).

    ``a_clip`` and ``a_gt`` ``(n_f, n_p)``; ``concepts`` the concept names; per feature ``clip_label`` /
    ``clip_value`` (its best CLIP concept and A_clip value), ``attribute_label`` / ``attribute_value``
    (its best ground-truth attribute and A_gt value); ``validation`` (Eqs. 14-15), ``static``
    (the optimal static baseline), ``random`` (the random baseline's expected metrics), ``bins`` (Fig. 6).
    """

    concepts: list[str]
    groups: list[str]
    a_clip: np.ndarray
    a_gt: np.ndarray
    validation: AlignmentValidation
    static: AlignmentValidation
    random: dict[str, float]
    bins: list[dict[str, Any]] = field(default_factory=list)

    def _best(self, matrix: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Per feature, the concept with the largest alignment in ``matrix`` ``(n_f, n_c)`` and that value."""
        return [self.concepts[j] for j in matrix.argmax(1)], matrix.max(1)

    clip_label = property(lambda self: self._best(self.a_clip)[0], doc="Each feature's best CLIP concept.")
    clip_value = property(lambda self: self._best(self.a_clip)[1], doc="Its A_clip value ``(n_f,)``.")
    attribute_label = property(lambda self: self._best(self.a_gt)[0], doc="Each feature's best ground-truth attribute.")
    attribute_value = property(lambda self: self._best(self.a_gt)[1], doc="Its A_gt value ``(n_f,)``.")

    def table6(self) -> list[dict[str, Any]]:
        """Table 6's rows: random, optimal static and the CLIP naming (means over features)."""
        return [{"method": "Random", **self.random},
                {"method": "Static w/ min. pos_full", **self.static.summary()},
                {"method": "CLIP alignment (Eqs. 11-13)", **self.validation.summary()}]

    def summary(self) -> dict[str, Any]:
        """The headline numbers: the CLIP naming's metrics and both baselines'."""
        ours, static = self.validation.summary(), self.static.summary()
        return {**ours, **{f"random_{k}": v for k, v in self.random.items()},
                **{f"static_{k}": v for k, v in static.items()},
                "static_concept": self.concepts[int(self.static.predicted[0])] if len(self.static.predicted) else None,
                "n_features": int(self.a_clip.shape[0]), "n_concepts": len(self.concepts)}

    def features(self) -> list[dict[str, Any]]:
        """One row per feature: its best CLIP label and value, best attribute label and value, positions."""
        v = self.validation
        return [{"feature": i, "clip_label": self.clip_label[i], "clip_value": float(self.clip_value[i]),
                 "attribute_label": self.attribute_label[i], "attribute_value": float(self.attribute_value[i]),
                 "pos_full": float(v.pos_full[i]), "pos_pred": float(v.pos_pred[i]), "pos_pred_rel": float(v.pos_pred_rel[i])}
                for i in range(len(self.a_clip))]


def naming_from_matrices(a_clip, a_gt, concepts: Sequence[str], groups: Sequence[str] | None = None, *,
                         n_bins: int = 4) -> FeatureNaming:
    """:class:`FeatureNaming` from A_clip and A_gt ``(n_f, n_p)`` (same concept order); ``groups`` default to
    the ``"type::value"`` prefixes of ``concepts``."""
    concepts = list(concepts)
    groups = list(groups) if groups is not None else concept_groups(concepts)
    a_clip = np.asarray(a_clip, dtype=np.float64)
    a_gt = _ranked(a_gt)
    if a_gt.shape != a_clip.shape or a_clip.shape[1] != len(concepts):
        raise ValueError(f"A_gt is {a_gt.shape} and A_clip {a_clip.shape} for {len(concepts)} concepts: "
                         "both need one row per feature and one column per concept.")
    validation = validate_alignment(a_clip, a_gt, groups)
    return FeatureNaming(concepts, groups, a_clip, a_gt, validation, optimal_static_baseline(a_gt, groups),
                         random_baseline(groups), certainty_bins(a_clip.max(1), validation.pos_pred_rel, n_bins))


def name_features(features, image_embeddings, prompt_embeddings, a_gt, concepts: Sequence[str],
                  groups: Sequence[str] | None = None, *, n_bins: int = 4) -> FeatureNaming:
    """Fit :class:`ClipFeatureAlignment` on ``features`` ``(N, n_f)`` and validate it against ``a_gt``
    ``(n_f, n_p)`` (same concept order as ``prompt_embeddings``)."""
    a_clip = ClipFeatureAlignment().fit(features, image_embeddings, prompt_embeddings).alignment_
    return naming_from_matrices(a_clip, a_gt, concepts, groups, n_bins=n_bins)
