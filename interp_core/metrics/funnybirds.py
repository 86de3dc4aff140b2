"""FunnyBirds' intervention metrics (Hesse, Schaub-Meyer, Roth, ICCV 2023) for any attribution map. Pure
scoring: the model's outputs on re-drawn images and each map's mass per part in, scores out; no I/O, no
model is run here (``shared/reference/funnybirds-notes.md`` §2-3 describes the protocol).

Terms. An image shows ``P`` parts and up to ``D`` background objects (distractors): ``R = P + D`` *items*.
:class:`Outcomes` holds the model's outputs on the image re-drawn with only the parts of every subset kept
(a bitmask ``s``, bit ``p`` = part ``p``; ``s = 2**P - 1`` is the unmodified image) and with each distractor
removed: the interventions, drawn again rather than masked. :class:`Importances` holds, for each image and
each explained class (:data:`ROLES`), the attribution mass inside each item's region (the part importance PI
of the notes' §2.1) and the map's total. The true importance of item ``k`` for class ``c`` is the score drop
``g = f_c(x) - f_c(x without k)``.

Metrics (notes §3): CSDC (controlled synthetic data check), PC / DC (preservation / deletion check), D
(distractibility) and BI (background independence), SD (single deletion), TS (target sensitivity); the
summaries completeness ``((CSDC + PC + DC) / 3 + D) / 2``, correctness = SD and contrastivity = TS.

Where we differ from the reference code, on purpose (the notes' §5 fixes we adopt, by number):

* §5.1: every thresholded metric is reported as the **mean over the threshold sweep** (the normalised area
  under its curve) and, beside it (``*_best``), at the paper's best threshold: the grid value maximising
  ``(CSDC + PC + DC) / 3 + D`` per model and method, an optimistic choice made on the test images.
* §5.3: the important parts at threshold ``t`` are those with ``PI+_k > t * sum(A+)``: **positive** mass in
  the item's region over the map's positive mass over the whole image (pixels outside the items count, as
  in the paper's denominator). The paper's signed rule ``PI_k > t * sum(A)`` flips or explodes when the
  signed total is near 0 or negative (IG, Input x Gradient); ``normalise="signed"`` gives it for comparison.
  SD and TS use the signed PI, as the paper does (negative evidence lowers a part's rank).
* §5.4: one converter for every method (dense map -> region masses); regions are **exclusive**: each pixel
  belongs to its own item, or, within the dilation radius, to the nearest item (ties to the item listed
  first), so dilated regions never count a pixel twice (:func:`item_regions`).
* §5.7: SD reports how many images it dropped (a constant map or constant drops have no rank).
* §5.8: TS keeps the paper's first qualifying class pair (two extra maps per image, not one per pair),
  reports the share of images the model check filters out, and returns ``-1`` (no score) for a class with
  no pair instead of silently reusing another class's pair (:func:`contrast_pairs`).
* §5.2: reference rows beside every method (:mod:`interp_core.metrics.funnybirds_references`).
* Not adopted: §5.6's probability units. D and BI keep the paper's rule on the raw output (relevant when
  ``g >= 0.05 |f_y(x)|`` and ``g > 0``), so numbers stay comparable with the paper's.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from interp_core.metrics.map_statistics import spearman_rows

#: The paper's threshold grid (``np.linspace(0.01, 0.50, 80)``, step about 0.0062).
THRESHOLDS = np.linspace(0.01, 0.50, 80)
#: D and BI: an item matters when its removal lowers the explained output by this share of ``|f_y(x)|``.
RELEVANCE = 0.05
#: The classes each image is explained for, in the order of :attr:`Importances.targets`' columns: its label
#: (CSDC, D, SD), the model's prediction (PC, DC) and the two contrast classes of TS.
ROLES = ("label", "prediction", "contrast_1", "contrast_2")
#: The thresholded metrics (sweep mean and best-threshold value).
THRESHOLDED = ("csdc", "pc", "dc", "d")


@dataclass
class Outcomes:
    """The model's outputs on the interventions of ``N`` images (nothing here depends on a method).

    ``labels`` ``(N,)``; ``keep_logits`` ``(N, 2**P, K)``: outputs on the image with only the parts of
    bitmask ``s`` kept (``s = 2**P - 1``: the image itself); ``removal_logits`` ``(N, D, K)``: with
    distractor ``d`` removed (rows of absent distractors are ignored); ``present`` ``(N, D)`` bool."""

    labels: np.ndarray
    keep_logits: np.ndarray
    removal_logits: np.ndarray
    present: np.ndarray

    @property
    def parts(self) -> int:
        return int(np.log2(self.keep_logits.shape[1]))

    @property
    def full(self) -> int:
        return self.keep_logits.shape[1] - 1

    @property
    def logits(self) -> np.ndarray:
        """Outputs on the unmodified images ``(N, K)``."""
        return self.keep_logits[:, self.full]

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(1)

    def part_drops(self, classes: np.ndarray) -> np.ndarray:
        """``g`` ``(N, P)``: how much removing each part alone lowers the output of ``classes`` ``(N,)``."""
        rows = np.arange(len(classes))
        removed = self.full ^ (1 << np.arange(self.parts))
        return self.keep_logits[rows, self.full, classes][:, None] - self.keep_logits[rows[:, None], removed[None, :], classes[:, None]]

    def distractor_drops(self, classes: np.ndarray) -> np.ndarray:
        """``g`` ``(N, D)`` of removing each distractor (0 where absent)."""
        rows = np.arange(len(classes))
        drops = self.keep_logits[rows, self.full, classes][:, None] - self.removal_logits[rows, :, classes]
        return np.where(self.present, drops, 0.0)


@dataclass
class Importances:
    """Region masses of the maps of ``N`` images, each explained for the classes ``targets`` ``(N, 4)`` (see
    :data:`ROLES`; ``-1``: not explained): ``signed`` and ``positive`` ``(N, 4, R)`` (attribution and its
    positive part summed over each item's region), ``total_signed`` and ``total_positive`` ``(N, 4)`` (over
    the whole map)."""

    targets: np.ndarray
    signed: np.ndarray
    positive: np.ndarray
    total_signed: np.ndarray
    total_positive: np.ndarray

    def take(self, index) -> "Importances":
        return Importances(*(getattr(self, f.name)[index] for f in fields(self)))


# ----------------------------------------------------------------------------- maps -> part importance


def _grow(mask: np.ndarray) -> np.ndarray:
    """``mask`` ``(N, H, W)`` grown by one pixel in the 8-neighbourhood (a 3x3 max-pool)."""
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    h, w = mask.shape[1:]
    out = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= padded[:, dy : dy + h, dx : dx + w]
    return out


def item_regions(item_map: np.ndarray, n_items: int, dilation: int) -> np.ndarray:
    """Exclusive item regions ``(N, H, W)`` int (``-1``: no item) from ``item_map`` ``(N, H, W)`` (0: none,
    ``i + 1``: item ``i``). Each item's pixels are its own; then, ``dilation`` times, every free pixel next to
    a region (8-neighbourhood) joins it, the item listed first winning a tie: a free pixel goes to the
    nearest item within ``dilation`` pixels (Chebyshev distance), never to two (notes §5.4). FunnyBirds
    dilates with a 5x5 max-pool (2 pixels at 256 px) and lets dilated masks overlap."""
    regions = np.asarray(item_map, dtype=np.int64) - 1
    for _ in range(int(dilation)):
        free = regions < 0
        grown = regions.copy()
        for i in range(n_items):
            claim = free & _grow(regions == i) & (grown < 0)
            grown[claim] = i
        regions = grown
    return regions


def region_masses(maps: np.ndarray, regions: np.ndarray, n_items: int) -> dict[str, np.ndarray]:
    """Masses of ``maps`` ``(N, H, W)`` in each item region of ``regions`` ``(N, H, W)`` (:func:`item_regions`):
    ``signed`` and ``positive`` ``(N, R)``, ``total_signed`` and ``total_positive`` ``(N,)`` over every pixel
    (FunnyBirds' PI: attribution summed over the part's pixels, no normalisation)."""
    maps = np.asarray(maps, np.float64)
    n = maps.shape[0]
    inside = regions >= 0
    slot = (np.arange(n)[:, None, None] * n_items + regions)[inside]
    positive = np.clip(maps, 0.0, None)
    return {
        "signed": np.bincount(slot, maps[inside], n * n_items).reshape(n, n_items),
        "positive": np.bincount(slot, positive[inside], n * n_items).reshape(n, n_items),
        "total_signed": maps.reshape(n, -1).sum(1),
        "total_positive": positive.reshape(n, -1).sum(1),
    }


def important_items(importances: Importances, role: int, thresholds: np.ndarray = THRESHOLDS,
                    normalise: str = "positive") -> np.ndarray:
    """``P_t`` for every threshold: ``(N, T, R)`` bool, item ``k`` important for the map of ``role`` at ``t``.
    ``"positive"``: ``PI+_k > t * sum(A+)`` (nothing when the map has no positive mass); ``"signed"``: the
    paper's ``PI_k > t * sum(A)``."""
    t = np.asarray(thresholds, np.float64)[None, :, None]
    if normalise == "positive":
        mass, total = importances.positive[:, role], importances.total_positive[:, role]
        return (mass[:, None, :] > t * total[:, None, None]) & (total[:, None, None] > 0)
    if normalise == "signed":
        return importances.signed[:, role][:, None, :] > t * importances.total_signed[:, role][:, None, None]
    raise ValueError(f"normalise must be 'positive' or 'signed', got {normalise!r}.")


# ----------------------------------------------------------------------------- the class table


def _popcount(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.int64)
    return np.array([bin(int(v)).count("1") for v in values.reshape(-1)], np.int64).reshape(values.shape)


def minimal_sufficient_sets(class_table: np.ndarray) -> list[np.ndarray]:
    """For each class of ``class_table`` ``(C, P)`` (one variant per part), its minimal sufficient part sets
    as bitmasks: sets ``S`` whose variants no other class shares in full (sufficient), none of whose proper
    subsets is sufficient (minimal). FunnyBirds' ``get_minimal_sufficient_part_sets``."""
    table = np.asarray(class_table)
    c, p = table.shape
    subsets = np.arange(1, 2**p)
    member = (subsets[:, None] >> np.arange(p)) & 1 == 1  # (S, P)
    same = table[:, None, :] == table[None, :, :]  # (C, C, P)
    out = []
    for k in range(c):
        others = np.delete(same[k], k, axis=0)  # (C-1, P)
        # S is sufficient when every other class differs in at least one part of S
        sufficient = ~((others[None, :, :] | ~member[:, None, :]).all(2)).any(1)
        chosen = subsets[sufficient]
        minimal = [s for s in chosen if not any((t & s) == t and t != s for t in chosen)]
        out.append(np.asarray(minimal, np.int64))
    return out


def shared_parts(class_table: np.ndarray, a, b) -> np.ndarray:
    """Bitmask of the parts classes ``a`` and ``b`` have in common (arrays of class indices)."""
    table = np.asarray(class_table)
    same = table[np.asarray(a)] == table[np.asarray(b)]
    return (same * (1 << np.arange(table.shape[1]))).sum(-1)


def contrast_pairs(class_table: np.ndarray, shared: int = 2) -> np.ndarray:
    """TS's class pair of every class ``y``, ``(C, 2)`` (``-1``: none): the first pair ``c1 < c2`` in class
    order of classes sharing exactly ``shared`` parts with ``y`` whose shared parts with ``y`` are disjoint
    (FunnyBirds' choice, distance 3 of 5 parts)."""
    table = np.asarray(class_table)
    c = len(table)
    masks = shared_parts(table, np.repeat(np.arange(c), c), np.tile(np.arange(c), c)).reshape(c, c)
    counts = _popcount(masks)
    pairs = np.full((c, 2), -1, np.int64)
    for y in range(c):
        candidates = [k for k in range(c) if k != y and counts[y, k] == shared]
        for i, c1 in enumerate(candidates):
            match = next((c2 for c2 in candidates[i + 1:] if masks[y, c1] & masks[y, c2] == 0), None)
            if match is not None:
                pairs[y] = (c1, match)
                break
    return pairs


def explained_targets(labels: np.ndarray, predictions: np.ndarray, pairs: np.ndarray | None) -> np.ndarray:
    """:attr:`Importances.targets` ``(N, 4)`` of images with ``labels`` and model ``predictions``: label,
    prediction and the label's contrast pair (``pairs`` from :func:`contrast_pairs`; None: no TS)."""
    labels = np.asarray(labels, np.int64)
    contrast = np.full((len(labels), 2), -1, np.int64) if pairs is None else np.asarray(pairs)[labels]
    return np.column_stack([labels, np.asarray(predictions, np.int64), contrast])


# ----------------------------------------------------------------------------- the metrics


def _mean(values) -> float | None:
    values = np.asarray(values, np.float64)
    return float(values.mean()) if values.size else None


def single_deletion(outcomes: Outcomes, importances: Importances) -> tuple[np.ndarray, int]:
    """SD per image ``(M,)``: ``(rho + 1) / 2`` with ``rho`` the Spearman correlation of the label map's
    signed part importances with the true drops over the ``P`` parts; and how many images had no rank."""
    p = outcomes.parts
    rho = spearman_rows(outcomes.part_drops(outcomes.labels), importances.signed[:, 0, :p])
    kept = ~np.isnan(rho)
    return (rho[kept] + 1) / 2, int((~kept).sum())


def target_sensitivity(outcomes: Outcomes, importances: Importances, class_table: np.ndarray) -> tuple[np.ndarray, int, int]:
    """TS scores (two per image that passes the model check), the images with a pair and those filtered.

    For contrast classes ``c1``, ``c2`` sharing parts ``S1``, ``S2`` with the label: the model check asks
    that removing ``S1`` lowers ``c1`` more than removing ``S2`` does, and vice versa (``Delta_c(x') =
    f_c(x') - f_c(x)``); then the score is 1 when ``c1``'s map puts more on ``S1`` than ``c2``'s map does, and
    another 1 when ``c2``'s map puts more on ``S2``."""
    p, full = outcomes.parts, outcomes.full
    c1, c2 = importances.targets[:, 2], importances.targets[:, 3]
    valid = (c1 >= 0) & (c2 >= 0)
    rows = np.nonzero(valid)[0]
    if not rows.size:
        return np.zeros(0), 0, 0
    y, c1, c2 = outcomes.labels[rows], c1[rows], c2[rows]
    s1, s2 = shared_parts(class_table, y, c1), shared_parts(class_table, y, c2)
    logits, keep = outcomes.logits[rows], outcomes.keep_logits[rows]
    r = np.arange(len(rows))

    def delta(c, removed):
        return keep[r, full ^ removed, c] - logits[r, c]

    passed = (delta(c1, s1) < delta(c1, s2)) & (delta(c2, s2) < delta(c2, s1))
    bits = 1 << np.arange(p)
    in1, in2 = (s1[:, None] & bits) > 0, (s2[:, None] & bits) > 0
    pi1, pi2 = importances.signed[rows, 2, :p], importances.signed[rows, 3, :p]
    first = (pi1 * in1).sum(1) > (pi2 * in1).sum(1)
    second = (pi2 * in2).sum(1) > (pi1 * in2).sum(1)
    scores = np.concatenate([first[passed], second[passed]]).astype(np.float64)
    return scores, len(rows), int((~passed).sum())


def threshold_curves(outcomes: Outcomes, importances: Importances, *, class_table: np.ndarray | None,
                     thresholds: np.ndarray = THRESHOLDS, relevance: float = RELEVANCE,
                     normalise: str = "positive") -> dict[str, np.ndarray | None]:
    """CSDC, PC, DC and D at every threshold, each ``(T,)`` (None where undefined: CSDC without a class
    table or a correctly classified image, D without an irrelevant item)."""
    n, p, full = len(outcomes.labels), outcomes.parts, outcomes.full
    rows = np.arange(n)
    y, predicted = outcomes.labels, outcomes.predictions
    bits = 1 << np.arange(p)
    on_label = important_items(importances, 0, thresholds, normalise)  # (N, T, R)
    on_prediction = important_items(importances, 1, thresholds, normalise)
    kept = (on_prediction[..., :p] * bits).sum(-1)  # (N, T) bitmask of P_t
    # PC: only the important parts kept, still the prediction; DC: without them, not the prediction
    pc = (outcomes.keep_logits[rows[:, None], kept].argmax(-1) == predicted[:, None]).mean(0)
    dc = (outcomes.keep_logits[rows[:, None], full ^ kept].argmax(-1) != predicted[:, None]).mean(0)
    curves: dict[str, np.ndarray | None] = {"pc": pc, "dc": dc, "csdc": None, "d": None}
    if class_table is not None:
        sets = minimal_sufficient_sets(class_table)
        correct = np.nonzero(predicted == y)[0]
        if correct.size:
            label_mask = (on_label[correct][..., :p] * bits).sum(-1)  # (M, T)
            best = np.zeros(label_mask.shape)
            for c in np.unique(y[correct]):
                at = y[correct] == c
                s = sets[c]
                overlap = _popcount(s[None, None, :] & label_mask[at][:, :, None]) / _popcount(s)[None, None, :]
                best[at] = overlap.max(2)
            curves["csdc"] = best.mean(0)
    f_y = outcomes.logits[rows, y]
    drops = np.concatenate([outcomes.part_drops(y), outcomes.distractor_drops(y)], 1)  # (N, R)
    exists = np.concatenate([np.ones((n, p), bool), outcomes.present], 1)
    irrelevant = exists & ((np.abs(drops) < relevance * np.abs(f_y)[:, None]) | (drops < 0))
    has = irrelevant.sum(1) > 0
    if has.any():
        flagged = (on_label[has] & irrelevant[has][:, None, :]).sum(2) / irrelevant[has].sum(1)[:, None]
        curves["d"] = 1.0 - flagged.mean(0)
    return curves


def background_independence(outcomes: Outcomes, relevance: float = RELEVANCE) -> float | None:
    """BI (model only): ``1 - (relevant objects / objects)`` pooled over every distractor of every image,
    a distractor being relevant when removing it lowers the label's output by ``relevance * |f_y(x)|`` or
    more. None when no image has a distractor."""
    if not outcomes.present.any():
        return None
    y = outcomes.labels
    f_y = np.abs(outcomes.logits[np.arange(len(y)), y])
    drops = outcomes.distractor_drops(y)
    relevant = outcomes.present & (drops >= relevance * f_y[:, None]) & (drops > 0)
    return float(1.0 - relevant.sum() / outcomes.present.sum())


def funnybirds_scores(outcomes: Outcomes, importances: Importances, *, class_table: np.ndarray | None = None,
                      thresholds: np.ndarray = THRESHOLDS, relevance: float = RELEVANCE, normalise: str = "positive") -> dict:
    """Every FunnyBirds metric of one (model, method) pair over ``N`` images.

    Returns ``csdc``, ``pc``, ``dc``, ``d`` (mean over ``thresholds``) and ``csdc_best`` ... ``d_best`` (at
    the best threshold, ``best_threshold``), ``bi``, ``sd``, ``ts``, ``completeness`` and
    ``completeness_best``, ``correctness`` (= SD), ``contrastivity`` (= TS), ``counts`` (``images``,
    ``correct``, ``sd_dropped``, ``ts_images``, ``ts_filtered``) and ``curves`` (each thresholded metric per
    threshold). A metric the data cannot give is None (CSDC and TS need ``class_table``; completeness needs
    CSDC and D). Without CSDC or D, the best threshold maximises the mean of those present."""
    curves = threshold_curves(outcomes, importances, class_table=class_table, thresholds=thresholds,
                              relevance=relevance, normalise=normalise)
    checks = [curves[k] for k in ("csdc", "pc", "dc") if curves[k] is not None]
    objective = np.mean(checks, 0) + (curves["d"] if curves["d"] is not None else 0.0)
    best = int(np.argmax(objective))  # FunnyBirds' t*: argmax of (CSDC + PC + DC) / 3 + D
    out: dict = {}
    for key in THRESHOLDED:
        curve = curves[key]
        out[key] = None if curve is None else float(curve.mean())
        out[f"{key}_best"] = None if curve is None else float(curve[best])
    out["best_threshold"] = float(np.asarray(thresholds)[best])
    out["bi"] = background_independence(outcomes, relevance)
    sd, dropped = single_deletion(outcomes, importances)
    out["sd"] = _mean(sd)
    ts, ts_images, filtered = (target_sensitivity(outcomes, importances, class_table) if class_table is not None
                               else (np.zeros(0), 0, 0))
    out["ts"] = _mean(ts) if class_table is not None else None
    if curves["csdc"] is not None and curves["d"] is not None:
        complete = ((curves["csdc"] + curves["pc"] + curves["dc"]) / 3 + curves["d"]) / 2
        out["completeness"], out["completeness_best"] = float(complete.mean()), float(complete[best])
    else:
        out["completeness"] = out["completeness_best"] = None
    out["correctness"], out["contrastivity"] = out["sd"], out["ts"]
    out["counts"] = {"images": int(len(outcomes.labels)), "correct": int((outcomes.predictions == outcomes.labels).sum()),
                     "sd_dropped": dropped, "ts_images": ts_images, "ts_filtered": filtered}
    out["curves"] = {k: None if v is None else [round(float(x), 5) for x in v] for k, v in curves.items()}
    return out
