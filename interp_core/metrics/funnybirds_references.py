"""The reference rows of FunnyBirds' metrics (notes §5.2): maps that need no explainer, scored like every
method. The oracle (the true part masks weighted by the true score drops: the ceiling), a random map (chance:
random weights on the items and on the rest of the input, so every ranking and every set of items is equally
likely, and the map knows no more than a method where the items are) and a uniform map (a constant: each
item weighs its area, what the items' sizes alone give away, as the pointing game's colour prior shows what
colour alone gives). Pure: arrays in, maps and region masses out.
"""
from __future__ import annotations

import numpy as np

from interp_core.metrics.funnybirds import Importances, Outcomes


def oracle_importances(outcomes: Outcomes, targets: np.ndarray) -> Importances:
    """Region masses of the oracle: a map that puts exactly the true drop ``g`` of each item (for each
    target class) on that item and nothing elsewhere, i.e. the true part masks weighted by the true score
    drops (:func:`item_weight_maps` of the drops). Its ranks are the truth, so SD is 1 wherever the drops
    have an order."""
    n, roles = targets.shape
    r = outcomes.parts + outcomes.present.shape[1]
    signed = np.zeros((n, roles, r))
    for role in range(roles):
        c = np.where(targets[:, role] >= 0, targets[:, role], 0)
        g = np.concatenate([outcomes.part_drops(c), outcomes.distractor_drops(c)], 1)
        signed[:, role] = np.where(targets[:, role:role + 1] >= 0, g, 0.0)
    positive = np.clip(signed, 0.0, None)
    return Importances(np.asarray(targets, np.int64), signed, positive, signed.sum(2), positive.sum(2))


def item_weight_maps(item_map: np.ndarray, weights: np.ndarray, rest: np.ndarray | None = None) -> np.ndarray:
    """Maps ``(N, H, W)`` that spread ``weights[:, k]`` (``(N, R)``) evenly over item ``k``'s pixels
    (``item_map == k + 1``), so each item's mass is its weight (an absent item has none), and ``rest``
    ``(N,)`` (default 0) evenly over the pixels of no item."""
    item_map = np.asarray(item_map, np.int64)
    n, r = weights.shape
    flat = item_map.reshape(n, -1)
    rest = np.zeros((n, 1)) if rest is None else np.asarray(rest, np.float64).reshape(n, 1)
    weights = np.concatenate([rest, weights], 1)
    areas = np.stack([(flat == k).sum(1) for k in range(r + 1)], 1)
    per_pixel = np.where(areas > 0, weights / np.maximum(areas, 1), 0.0)
    return np.take_along_axis(per_pixel, flat, 1).reshape(item_map.shape)


def random_item_weights(seeds: np.ndarray, n_items: int) -> np.ndarray:
    """The random reference's item weights ``(N, R)``, uniform in [0, 1), one generator per row of ``seeds``
    ``(N, k)`` int (an input and a class), so they depend on the input and the class only, never on a model."""
    return np.stack([np.random.default_rng([int(s) for s in np.atleast_1d(row)]).random(n_items) for row in np.asarray(seeds)])
