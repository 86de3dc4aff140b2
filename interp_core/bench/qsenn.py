"""Q-SENN speed benchmark: what the sparse ternary layer costs at inference, and what a local explanation
costs, as ratios to baselines measured in the same run.

``run_qsenn_benchmark()`` returns

* ``inference_over_dense``: forward of the ``qsenn-shapes`` model (backbone, n*_f selected maps, pooling,
  normalisation, ternary layer) / forward of its dense model (goal <= 1.05), on a batch of ``batch`` images;
* ``local_explanation_over_forward``: the local explanation of one image for its predicted class (the map
  sum_j W_cj/std_j M_j upsampled, every feature's contribution, the feature maps: ``compute`` with
  details) / the Q-SENN forward of that image (goal <= 2);
* ``explain_call_over_forward``: the same through ``Explainer.explain``, which also runs the forward
  that fills ``Explanation.score`` (shown for what the dashboard pays, no goal);

each the median of pairwise ratios over ``rounds`` interleaved rounds of the shared harness
(:mod:`interp_core.bench.harness`: A and B back to back in alternating order, so that load from other
processes hits both alike), with the spread (min, max) of the ratios in ``spread``, the same ratios from
process CPU time, the median times in milliseconds and the conditions. The spread is also printed to
stderr. Both models are built freshly initialised from their recipes (their cost does not depend on the
weights), with a random selection and a ternary layer of 5 weights per class, so nothing needs training.
"""
from __future__ import annotations

import sys
from typing import Any

import torch

from interp_core.bench.harness import compare, conditions, ratio_report

GOALS = {"inference_over_dense": 1.05, "local_explanation_over_forward": 2.0}


def run_qsenn_benchmark(recipe: str = "qsenn-shapes", rounds: int = 15, repeats: int = 5, batch: int = 64) -> dict[str, Any]:
    """Time Q-SENN inference and local explanations (see the module docstring)."""
    if rounds < 1 or repeats < 1:
        raise ValueError("rounds and repeats must be >= 1.")
    from interp_core.data import dataset_info
    from interp_core.methods import get_explainer
    from interp_core.methods.qsenn.sparse import qsenn_bias, quantize_ternary
    from interp_core.methods.qsenn.training import build_dense, build_sparse
    from interp_core.store.models import model_card
    from interp_core.store.recipes import get_recipe

    spec = get_recipe(recipe)
    dense_spec = get_recipe(spec.dense)
    info = dataset_info(spec.dataset)
    torch.manual_seed(0)
    qsenn = build_sparse(spec).eval()
    dense = build_dense(dense_spec).eval()
    qsenn.set_selection(torch.randperm(qsenn.width)[: qsenn.n_features].sort().values)
    weight, _ = quantize_ternary(torch.randn(info.num_classes, qsenn.n_features), spec.per_class * info.num_classes)
    qsenn.set_layer(weight, qsenn_bias(weight, 1.0), torch.rand(qsenn.n_features), 0.5 + torch.rand(qsenn.n_features))
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(batch, *info.input_shape, generator=gen)
    image = images[:1]
    with torch.no_grad():
        target = qsenn(image).argmax(1)
    explainer = get_explainer("qsenn", qsenn, model_card(spec, {"weights_sha256": "untrained"}))

    def forward(model, x):
        def run() -> None:
            with torch.no_grad():
                model(x)
        return run

    def local() -> None:
        explainer.compute(image, target, details=True)

    def explain_call() -> None:
        explainer.explain(image[0], [int(target)])

    measured = {
        "inference_over_dense": compare(forward(qsenn, images), forward(dense, images), rounds=rounds, inner=repeats),
        "local_explanation_over_forward": compare(local, forward(qsenn, image), rounds=rounds, inner=repeats),
        "explain_call_over_forward": compare(explain_call, forward(qsenn, image), rounds=rounds, inner=repeats),
    }
    sides = {"inference_over_dense": ("qsenn_forward_batch", "dense_forward_batch"),
             "local_explanation_over_forward": ("local_explanation", "qsenn_forward_1_image"),
             "explain_call_over_forward": ("explain_call", "qsenn_forward_1_image")}
    result: dict[str, Any] = {name: round(m["ratio"], 3) for name, m in measured.items()}
    result["spread"] = {name: [round(m["ratio_min"], 3), round(m["ratio_max"], 3)] for name, m in measured.items()}
    result["cpu_time_ratios"] = {name: round(m["cpu_ratio"], 3) for name, m in measured.items()}
    result["times_ms"] = {}
    for name, m in measured.items():
        a, b = sides[name]
        result["times_ms"][a] = round(m["a_ms"], 3)
        result["times_ms"][b] = round(m["b_ms"], 3)
    result["goals"] = dict(GOALS)
    result["meets_goals"] = {name: result[name] <= goal for name, goal in GOALS.items()}
    result["conditions"] = conditions(recipe=recipe, rounds=rounds, calls_per_timing=repeats, batch=batch,
                                      n_features=qsenn.n_features, dense_features=dense.n_features,
                                      image_shape=list(info.input_shape))
    for name, m in measured.items():
        print(ratio_report(name, m, GOALS.get(name)), file=sys.stderr)
    return result
