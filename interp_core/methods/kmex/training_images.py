"""The training images the Prototypes view needs, without generating the training split: every label (Fig. 2's
sources) and the raw data of the images a KMEx model's prototypes are shown by (their patches in the B4/B234
legends), one compressed file in the result cache, shipped for the default model (``ship-results``)."""
from __future__ import annotations

import numpy as np

from interp_core.data import load_split
from interp_core.data.base import Split

#: The kind of the Prototypes view's results in the result cache (shipped for the default model).
CACHE_KIND = "kmex_views"
#: The buffers that name the training images a model's prototypes are shown by.
_PATCH_IMAGE_BUFFERS = ("b4_patch_images", "b234_patch_images", "prototype_images")


class _RowsByIndex:
    """A few rows of a split's raw data, indexed by their position in the whole split (as ``Split.data``)."""

    def __init__(self, indices: np.ndarray, rows: np.ndarray) -> None:
        self._position = {int(i): k for k, i in enumerate(indices)}
        self._rows = rows

    def __getitem__(self, index) -> np.ndarray:
        wanted = np.atleast_1d(np.asarray(index))
        missing = [int(i) for i in wanted if int(i) not in self._position]
        if missing:
            raise IndexError(f"training images {missing[:5]} are not among those the model's prototypes refer to")
        rows = self._rows[[self._position[int(i)] for i in wanted]]
        return rows if np.ndim(index) else rows[0]


def referenced_training_split(loaded) -> Split:
    """The model's training split as far as the view's default needs it: every label (Fig. 2's sources) and the
    raw data of the training images its prototypes are shown by (their patches in the B4/B234 legends), cached
    on disk and shipped for the default model (``ship-results``), so that a fresh install does not generate the
    whole split for them. Any other image (a clicked point) comes from :func:`_split`."""
    def compute() -> dict[str, np.ndarray]:
        train = load_split(loaded.recipe.dataset, "train")
        indices = set()
        for name in _PATCH_IMAGE_BUFFERS:
            try:
                indices |= {int(i) for i in loaded.model.buffer(name).flatten().tolist()}
            except KeyError:  # a model fitted without that variant
                continue
        indices = np.asarray(sorted(indices), dtype=np.int64)
        return {"indices": indices, "rows": np.asarray(train.data[indices]), "labels": np.asarray(train.labels)}

    from interp_core.store.results import result_dir
    from interp_core.store.shipped_results import shipped_or_cached_arrays

    found = shipped_or_cached_arrays(result_dir(CACHE_KIND, loaded) / "referenced_train.npz", compute, compressed=True)
    test = load_split(loaded.recipe.dataset, "test")  # the same dataset's description and input transform
    return Split(info=test.info, data=_RowsByIndex(found["indices"], found["rows"]), labels=found["labels"], to_input=test.to_input)
