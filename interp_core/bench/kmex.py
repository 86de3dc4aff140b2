"""KMEx benchmark: k-means fit time, explanation-map cost relative to a forward pass, cached UMAP.

Run with ``python -m interp_core bench kmex``. The map cost is a ratio against the plain CNN forward
measured in the same run with the shared harness (:mod:`interp_core.bench.harness`: interleaved rounds,
median of the pairwise ratios, spread), so the numbers compare across machines. Goals: ``fit_seconds`` < 10 on 2 cores, ``map_over_forward`` <= 3, ``umap_seconds_cached`` < 0.5.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

import numpy as np
import torch

from interp_core.bench.harness import compare, conditions

GOALS = {"fit_seconds": 10.0, "map_over_forward": 3.0, "umap_seconds_cached": 0.5}


def run_kmex_benchmark(recipe: str = "kmex-shapes", device: str | None = None, rounds: int = 30) -> dict[str, Any]:
    """Measure KMEx on ``recipe`` (fitted first if needed) and return the numbers with their goals.

    - ``fit_seconds``: KMEx k-means (recipe's K/C and n_init) on the training embeddings (10,000 for shapes).
    - ``map_over_forward``: B234 explanation map (segments + attribution, one image) / CNN forward (one image),
      median of interleaved pairwise ratios with its spread (``spread``); ``b4_map_over_forward`` likewise for B4.
    - ``umap_seconds_cached``: a projection for non-default classes read back from the disk cache (memory
      cache cleared, as in a fresh process); ``umap_seconds_shipped``: the default projection from the
      assets or cache; ``umap_seconds_first``: the first fit of that projection in this cache folder.
    """
    from interp_core.data import load_split
    from interp_core.methods import get_explainer
    from interp_core.methods.kmex import KMEx, default_classes, kmex_projection
    from interp_core.methods.kmex import projection as projection_module
    from interp_core.methods.kmex.prototypes import embed_split
    from interp_core.store import get_recipe, load_model

    spec = get_recipe(recipe)
    kmex_loaded = load_model(recipe, device)
    kmex_model = kmex_loaded.model
    cnn = load_model(spec.backbone, kmex_model.classifier.weight.device).model
    dev = next(cnn.parameters()).device
    train = load_split(spec.dataset, "train")
    result: dict[str, Any] = {"recipe": recipe, "device": str(dev), "threads": torch.get_num_threads()}

    z = embed_split(cnn, train)
    y = torch.from_numpy(train.labels).to(dev)
    start = time.perf_counter()
    KMEx(spec.prototypes_per_class, n_init=spec.n_init, seed=spec.seed, backend=spec.backend).fit(z, y, kmex_model.n_classes)
    result["fit_seconds"] = round(time.perf_counter() - start, 3)
    result["fit_embeddings"] = int(z.shape[0])

    x = train.inputs([0]).to(dev)
    target = torch.tensor([int(train.labels[0])], device=dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def forward() -> None:
        with torch.no_grad():
            cnn(x)
        sync()

    def explainer_call(name: str) -> Callable[[], None]:
        explainer = get_explainer(name, kmex_loaded)

        def explain() -> None:
            explainer.attribute(x, target)
            sync()

        return explain

    b234 = compare(explainer_call("kmex-b234"), forward, rounds=rounds, warmup=3, inner=3)
    b4 = compare(explainer_call("kmex-b4"), forward, rounds=rounds, warmup=3, inner=3)
    result["forward_ms"] = round(b234["b_ms"], 3)
    result["map_ms"] = round(b234["a_ms"], 3)
    result["map_over_forward"] = round(b234["ratio"], 2)
    result["b4_map_ms"] = round(b4["a_ms"], 3)
    result["b4_map_over_forward"] = round(b4["ratio"], 2)
    result["spread"] = {"map_over_forward": [round(b234["ratio_min"], 2), round(b234["ratio_max"], 2)],
                        "b4_map_over_forward": [round(b4["ratio_min"], 2), round(b4["ratio_max"], 2)]}

    start = time.perf_counter()
    kmex_projection(kmex_model)
    result["umap_seconds_shipped"] = round(time.perf_counter() - start, 4)
    shipped = set(default_classes(kmex_model.n_classes))
    others = [c for c in range(kmex_model.n_classes) if c not in shipped][:6]
    start = time.perf_counter()
    first = kmex_projection(kmex_model, others)
    result["umap_seconds_first"] = round(time.perf_counter() - start, 2)
    projection_module._MEMORY.clear()
    start = time.perf_counter()
    again = kmex_projection(kmex_model, others)
    result["umap_seconds_cached"] = round(time.perf_counter() - start, 4)
    result["umap_cache_identical"] = bool(np.array_equal(first.points, again.points))
    result["goals"] = dict(GOALS)
    result["conditions"] = conditions(rounds=rounds, recipe=recipe)
    result["meets_goals"] = {k: result[k] <= v if k == "map_over_forward" else result[k] < v for k, v in GOALS.items()}
    return result


if __name__ == "__main__":
    print(json.dumps(run_kmex_benchmark(), indent=2))
