"""What the B-cos view shows, computed here so the page only lays it out.

Every function takes loaded models (:class:`~interp_core.store.models.TrainedModel`) and returns
explanations, numbers and rows; the page caches them keyed on the models' weight fingerprints.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp_core.methods.base import Explanation, get_explainer
from interp_core.methods.bcos.explainers import BcosExplainer
from interp_core.methods.bcos.recipes import ABLATION_RECIPES, BASELINE_RECIPE, DEFAULT_RECIPE

#: Post-hoc methods shown beside B-cos on the standard classifier (as the paper's Fig. 1).
POSTHOC_BESIDE = ("input_x_gradient", "gradcam")
#: Test images searched for a neuron's most activating inputs.
TOP_ACTIVATING_POOL = 600


def bcos_recipes() -> list[str]:
    """Every B-cos recipe, the default first."""
    from interp_core.store.recipes import all_recipes

    names = [r.name for r in all_recipes().values() if r.family == "bcos"]
    return sorted(names, key=lambda n: (n != DEFAULT_RECIPE, n))


def b_value(recipe) -> float:
    """The recipe's B (the alignment exponent of every B-cos layer)."""
    return float(recipe.arch_kwargs["b"])


def explainer(loaded) -> BcosExplainer:
    return get_explainer("bcos", loaded)


@torch.no_grad()
def top_classes(loaded, x: torch.Tensor, k: int = 5) -> list[tuple[int, float]]:
    """The ``k`` most probable classes ``(index, probability)`` of one input ``x`` ``(C, H, W)``, with the
    model's output activation (sigmoid for the BCE-trained B-cos networks)."""
    logits = loaded.model(x.unsqueeze(0).to(loaded.device))
    probs = loaded.card.probabilities(logits)[0].cpu()
    top = torch.topk(probs, min(k, probs.numel()))
    return [(int(i), float(p)) for p, i in zip(top.values, top.indices)]


def explain(loaded, x: torch.Tensor, targets: tuple[int, ...]) -> list[Explanation]:
    return explainer(loaded).explain(x, list(targets))


def delta(loaded, x: torch.Tensor, a: int, b: int) -> Explanation:
    return explainer(loaded).delta_explanation(x, a, b)


def neuron_layers(loaded) -> list[tuple[str, int]]:
    """``(layer name, output channels)`` of every B-cos layer whose neurons can be explained."""
    modules = dict(loaded.model.named_modules())
    return [(name, int(getattr(modules[name], "out_channels", getattr(modules[name], "out_features", 1))))
            for name in loaded.model.neuron_layers()]


def neuron(loaded, x: torch.Tensor, layer: str, channel: int) -> Explanation:
    """Explanation of ``layer[channel]`` at its most active position (``extras['position']``: row and
    column in that layer's feature map)."""
    return explainer(loaded).explain_neuron(x, layer, channel)


def top_activating(loaded, test_split, layer: str, channel: int, k: int = 6) -> list[Explanation]:
    """The ``k`` images among the first :data:`TOP_ACTIVATING_POOL` test images that activate the neuron most."""
    pool = test_split.subset(np.arange(min(TOP_ACTIVATING_POOL, len(test_split))))
    return explainer(loaded).top_activating(pool, layer, channel, k)


def top_activating_pictures(loaded, layer: str, channel: int, k: int = 6) -> list[tuple[np.ndarray, Explanation]]:
    """:func:`top_activating` on the model's test split, each explanation with its RGB uint8 picture."""
    from interp_core.data import load_split
    from interp_core.visualize import image_to_uint8

    split = load_split(loaded.recipe.dataset, "test")
    return [(image_to_uint8(split.inputs([e.extras["index"]])[0]), e) for e in top_activating(loaded, split, layer, channel, k)]


@dataclass(frozen=True)
class AblationEntry:
    recipe: str
    b: float
    accuracy: float | None
    trained: str  # date the recorded accuracy was measured at training


def ablation_entries() -> list[AblationEntry]:
    """The trained recipes of the B ablation with B and the test accuracy recorded at training."""
    from interp_core.store.catalog import checkpoint_status, recorded_date, recorded_metrics
    from interp_core.store.recipes import get_recipe

    out = []
    for name in ABLATION_RECIPES:
        if checkpoint_status(name) == "missing":
            continue
        accuracy = recorded_metrics(name).get("accuracy")
        out.append(AblationEntry(name, b_value(get_recipe(name)), None if accuracy is None else float(accuracy), recorded_date(name)))
    return out


def ablation_dataset() -> str:
    """The dataset of the B ablation's models (the view shows them only for inputs of it)."""
    from interp_core.store.recipes import get_recipe

    return get_recipe(ABLATION_RECIPES[0]).dataset


def untrained_ablation() -> list[str]:
    """The recipes of the B ablation without a checkpoint."""
    trained = {e.recipe for e in ablation_entries()}
    return [r for r in ABLATION_RECIPES if r not in trained]


def untrained_ablation_text(untrained: list[str], trained: int) -> str:
    """How many ablation models are trained, and how to train the others (with the recorded time)."""
    from interp_core.progress import format_duration
    from interp_core.store.trainable import training_estimate

    seconds, basis = training_estimate(untrained[0])
    return (f"{trained} of {len(ABLATION_RECIPES)} models of the B ablation (B-cos Fig. 5) are trained. "
            f"Train the others with `python -m interp_core train {' '.join(untrained)}` (or on Home): "
            f"{format_duration(seconds, about=True)} each on the CPU ({basis}).")


def baseline_recipe(name: str | None = None) -> str:
    """The standard classifier shown beside B-cos model ``name``: a B-cosified model's own origin, else
    :data:`BASELINE_RECIPE`."""
    origin = bcosified_origin(name) if name else None
    return origin["base"] if origin else BASELINE_RECIPE


# ---------------------------------------------------------------- B-cosification (Arya et al. 2024)

def bcosified_origin(name: str) -> dict | None:
    """For a B-cosified recipe: ``base`` (the classifier it was converted from), ``from_scratch`` (its
    twin, or None) and ``record`` (:func:`~interp_core.methods.bcos.bcosify_metrics.fine_tuning_record` of
    its checkpoint, {} before training); None for any other recipe."""
    from interp_core.methods.bcos.bcosify_recipes import FROM_SCRATCH, BcosifiedRecipe
    from interp_core.store.catalog import checkpoint_meta
    from interp_core.store.recipes import get_recipe

    recipe = get_recipe(name)
    if not isinstance(recipe, BcosifiedRecipe):
        return None
    from interp_core.methods.bcos.bcosify_metrics import fine_tuning_record

    meta = checkpoint_meta(name)
    twin = FROM_SCRATCH.get(name)
    return {"base": recipe.base, "from_scratch": twin, "record": fine_tuning_record(meta, twin) if meta else {}}


def bcosified_table() -> list[dict]:
    """One row per B-cosified recipe: its origin, B, and what its training recorded."""
    from interp_core.store.catalog import checkpoint_status, recorded_metrics
    from interp_core.store.recipes import get_recipe

    rows = []
    for name in bcos_recipes():
        origin = bcosified_origin(name)
        if origin is None:
            continue
        record, reached = origin["record"], origin["record"].get("reached")
        rows.append({"model": name, "converted from": origin["base"], "B": get_recipe(name).b,
                     "from-scratch twin": origin["from_scratch"] or "none", "status": checkpoint_status(name),
                     "test accuracy": recorded_metrics(name).get("accuracy"), "fine-tuning seconds": record.get("seconds"),
                     "epochs": record.get("epochs"),
                     "twin's accuracy reached": "" if not origin["from_scratch"] or not record else
                     (f"epoch {reached['epoch']} ({reached['seconds']:.0f} s)" if reached else "not reached")})
    return rows


def before_after(loaded, x: torch.Tensor, target: int) -> tuple[Explanation, Explanation]:
    """For a B-cosified model: the explanation of the *original* classifier read as a B = 1 B-cos network
    (B-cosification Sec. 3.2.1, biases kept: the same function, so its contributions miss the biases'
    share) and that of the converted, fine-tuned model, for input ``x`` and class ``target``."""
    from interp_core.models.bcos.bcosify import bcosify
    from interp_core.store.models import load_model

    base = load_model(baseline_recipe(loaded.name), loaded.device, train_if_missing=False, show_bar=False)
    read = bcosify(base.model, tuple(loaded.card.input_shape), b=1, keep_biases=True).eval()
    before = BcosExplainer(read, loaded.card).explain(x, [target])[0]
    return before, explainer(loaded).explain(x, [target])[0]


def fine_tuning_curves(name: str) -> list[dict]:
    """Validation accuracy per epoch (and seconds since the start) of B-cosified ``name``'s fine-tuning,
    epoch 0 being the converted model, and of its from-scratch twin's training: rows ``{"model", "epoch",
    "seconds", "val_accuracy"}`` from the two checkpoints' records."""
    from interp_core.store.catalog import checkpoint_meta

    origin = bcosified_origin(name)
    rows = []
    for model in [name] + ([origin["from_scratch"]] if origin and origin["from_scratch"] else []):
        fit = checkpoint_meta(model).get("fit", {})
        if "converted_val_accuracy" in fit:
            rows.append({"model": model, "epoch": 0, "seconds": 0.0, "val_accuracy": fit["converted_val_accuracy"]})
        rows += [{"model": model, "epoch": r["epoch"], "seconds": r["seconds"], "val_accuracy": r["val_accuracy"]}
                 for r in fit.get("history", [])]
    return rows


def posthoc_beside(baseline, x: torch.Tensor, target: int) -> dict[str, Explanation]:
    """The post-hoc explanations of :data:`POSTHOC_BESIDE` on the standard classifier ``baseline``."""
    return {m: get_explainer(m, baseline).explain(x, [target])[0] for m in POSTHOC_BESIDE}


@torch.no_grad()
def feature_map_size(loaded, layer: str) -> tuple[int, int] | None:
    """``(rows, columns)`` of ``layer``'s output map for an input of the model's size (None for a layer
    without a spatial map)."""
    module = dict(loaded.model.named_modules())[layer]
    seen: list[tuple[int, ...]] = []
    handle = module.register_forward_hook(lambda _m, _i, out: seen.append(tuple(out.shape)))
    try:
        loaded.model(torch.zeros(1, *loaded.card.input_shape, device=loaded.device))
    finally:
        handle.remove()
    return (seen[0][-2], seen[0][-1]) if seen and len(seen[0]) == 4 else None


def neuron_position_text(loaded, layer: str, position: tuple[int, int] | None) -> str:
    """What a neuron's position means, in words: its row and column in ``layer``'s feature map and the
    part of the input it sits over (the map's cell scaled to input pixels)."""
    size = feature_map_size(loaded, layer)
    if position is None or size is None:
        return "the layer has no spatial map: the neuron sees the whole input"
    (row, col), (rows, cols) = position, size
    height, width = loaded.card.input_shape[-2:]
    y, x = (row + 0.5) * height / rows, (col + 0.5) * width / cols
    return (f"row {row + 1} of {rows}, column {col + 1} of {cols} of the layer's {rows}×{cols} feature map (where this "
            f"channel is most active for this input), centred over input pixel (y {y:.0f}, x {x:.0f}) of {height}×{width}")


def warm_up(context) -> None:
    """The B-cos view's default selection, warmed at server start (:mod:`interp_core.evaluation.warmup`): the
    first ready B-cos model on the first test sample it gets right, explained for its top class (W(x),
    contributions, the Δ-explanation, the neuron explorer's first neuron, the B ablation) with the standard
    classifier's post-hoc maps beside it: the same calls the page makes, then every map drawn as the page draws it."""
    from interp_core.store.catalog import ready_models
    from interp_core.visualize import input_map, map_base, signed_map, weights_map

    ready = set(ready_models())
    names = [n for n in bcos_recipes() if n in ready]
    if not names:
        return
    name = names[0]
    loaded = context.model(name)
    x = context.sample(loaded.recipe.dataset, name).x
    audio = loaded.card.modality == "audio"
    base = map_base(x, audio)
    top = context.result(top_classes, name, x)
    target = top[0][0]
    exp = context.result(explain, name, x, (target,))[0]
    d = context.result(delta, name, x, top[0][0], top[1][0])
    pictures = [input_map(base, audio), weights_map(exp, audio), signed_map(exp.attribution, base, audio, "contribution"),
                weights_map(d, audio), signed_map(d.attribution, base, audio, "contribution")]
    layers = [layer for layer, _ in neuron_layers(loaded)]
    if layers:
        layer = layers[max(0, len(layers) - 3)]
        first = context.result(neuron, name, x, layer, 0)
        context.result(neuron_position_text, name, layer, first.extras.get("position"))
        pictures += [weights_map(first, audio), signed_map(first.attribution, base, audio, "activation")]
    if loaded.recipe.dataset == ablation_dataset():
        for entry in ablation_entries():
            pictures.append(weights_map(context.result(explain, entry.recipe, x, (target,))[0], width=1.8))
    baseline = baseline_recipe(name)
    if baseline in ready:
        pictures += [signed_map(e.attribution, base, audio) for e in context.result(posthoc_beside, baseline, x, target).values()]
    for spec in pictures:
        context.picture(spec)
