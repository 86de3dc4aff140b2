"""B-cos speed benchmark: the cost of the B-cos layer and of explanations, as ratios to plain baselines
measured in the same run with the shared harness (:mod:`interp_core.bench.harness`: interleaved rounds,
median of the pairwise ratios, min-max spread).

``run_bcos_benchmark()`` returns

* ``conv_overhead``: :class:`BcosConv2d` forward+backward / ``nn.Conv2d`` forward+backward on the same
  shapes (goal <= 1.3); ``network_overhead`` the same for a training step of the whole ``bcos-shapes``
  network against its twin built from ``nn.Conv2d`` (what training time pays; goal <= 1.5);
* ``explain_over_forward``: one-class explanation of one image (contribution map, ``attribute``) / plain
  forward of that image without autograd (goal <= 3);
* ``batched5_over_single``: five-class explanation of one image / one-class explanation (goal <= 2);
* ``network_overhead_eager``: ``network_overhead`` with the fused compiled kernels switched off (what a
  machine without a C++ compiler pays; ``conditions.compiled_kernels`` says which ran above);
* ``reference_over_ours``: the paper's formulation written plainly (B-cos Eq. 9 with the patch norm
  from a convolution of ``x²`` with ones, ``cos = ŵᵀx / ||x||``, ``out = γ |cos|^(B-1) ŵᵀx``, all in
  autograd) on the same weights / :class:`BcosConv2d`, forward+backward (>= 1: ours is not slower);

each with its spread in ``spread`` (``[min, max]`` of the pairwise ratios), the same ratios from process
CPU time, the median times in milliseconds and the conditions (threads, load, versions, shapes).
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.bench.harness import compare, conditions

GOALS = {"conv_overhead": 1.3, "network_overhead": 1.5, "explain_over_forward": 3.0, "batched5_over_single": 2.0,
         "reference_over_ours": 1.0}


class PaperBcosConv2d(nn.Module):
    """B-cos Eq. 9 exactly as the paper writes it, on the weights of a :class:`BcosConv2d` (groups 1, no
    MaxOut): ``||x||`` per patch from a convolution of ``x²`` with ones, ``cos = ŵᵀx / ||x||``,
    ``out = γ · |cos|^(B-1) · ŵᵀx``; every step a plain autograd operation."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        w = layer.weight / layer.weight.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        linear = F.conv2d(x, w, None, layer.stride, layer.padding, layer.dilation)
        ones = torch.ones(1, x.shape[1], *layer.kernel_size, dtype=x.dtype, device=x.device)
        norm = (F.conv2d(x * x, ones, None, layer.stride, layer.padding, layer.dilation) + 1e-6).sqrt()
        cos = linear / norm
        return layer.gain * cos.abs().pow(layer.b - 1) * linear


def _fwd_bwd(layer: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).square().mean().backward()

    return run


def _plain_twin(model: nn.Module) -> nn.Module:
    """A copy of a B-cos network in which every :class:`BcosConv2d` is an ``nn.Conv2d`` of the same
    shape (no bias), i.e. the same convolutions without the B-cos scaling."""
    import copy

    from interp_core.models.bcos import BcosConv2d

    twin = copy.deepcopy(model)
    for parent in twin.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, BcosConv2d):
                setattr(parent, name, nn.Conv2d(child.in_channels, child.out_channels * child.max_out, child.kernel_size,
                                                child.stride, child.padding, child.dilation, child.groups, bias=False))
    return twin


def run_bcos_benchmark(rounds: int = 9, recipe: str = "bcos-shapes", conv_shape: tuple[int, int, int, int] = (64, 64, 16, 16)) -> dict[str, Any]:
    """Time the B-cos layer and explanations (see module docstring). ``conv_shape`` is the
    ``(N, C, H, W)`` input of the 3x3 convolution comparison (C -> C channels, padding 1)."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}.")
    from interp_core.data import dataset_info
    from interp_core.methods import get_explainer
    from interp_core.models import build_model
    from interp_core.models import bcos as bcos_layers
    from interp_core.models.bcos import BcosConv2d
    from interp_core.store.models import model_card
    from interp_core.store.recipes import get_recipe

    gen = torch.Generator().manual_seed(0)
    n, c, h, w = conv_shape
    x = torch.rand(n, c, h, w, generator=gen).requires_grad_(True)
    conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
    bcos = BcosConv2d(c, c, 3, padding=1, gain=10.0)
    paper = PaperBcosConv2d(bcos)

    spec = get_recipe(recipe)
    info = dataset_info(spec.dataset)
    torch.manual_seed(0)
    model = build_model(spec.arch, in_channels=info.input_shape[0], num_classes=info.num_classes, **spec.arch_kwargs)
    twin = _plain_twin(model)
    batch = torch.rand(n, *info.input_shape, generator=gen)
    explainer_model = build_model(spec.arch, in_channels=info.input_shape[0], num_classes=info.num_classes, **spec.arch_kwargs).eval()
    explainer = get_explainer("bcos", explainer_model, model_card(spec, {"weights_sha256": "untrained"}))
    image = torch.rand(1, *info.input_shape, generator=gen)
    five = image.expand(5, *info.input_shape)
    targets5 = torch.arange(5)

    def forward() -> None:
        with torch.no_grad():
            explainer_model(image)

    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "conv_overhead": (_fwd_bwd(bcos, x), _fwd_bwd(conv, x)),
        "network_overhead": (_fwd_bwd(model.train(), batch), _fwd_bwd(twin.train(), batch)),
        "explain_over_forward": (lambda: explainer.attribute(image, targets5[:1]), forward),
        "batched5_over_single": (lambda: explainer.attribute(five, targets5), lambda: explainer.attribute(image, targets5[:1])),
        "reference_over_ours": (_fwd_bwd(paper, x), _fwd_bwd(bcos, x)),
    }
    results = {name: compare(a, b, rounds=rounds, inner=1 if name in ("conv_overhead", "network_overhead", "reference_over_ours") else 5)
               for name, (a, b) in pairs.items()}
    compiled = bcos_layers.compiled_scale_state()
    saved = dict(bcos_layers._COMPILED)
    bcos_layers._COMPILED.clear()
    bcos_layers._COMPILED["state"] = "off"
    try:
        results["network_overhead_eager"] = compare(*pairs["network_overhead"], rounds=rounds)
    finally:
        bcos_layers._COMPILED.clear()
        bcos_layers._COMPILED.update(saved)
    return {
        **{name: r["ratio"] for name, r in results.items()},
        "spread": {name: [r["ratio_min"], r["ratio_max"]] for name, r in results.items()},
        "cpu_time_ratios": {name: r["cpu_ratio"] for name, r in results.items()},
        "times_ms": {name: {"numerator": r["a_ms"], "denominator": r["b_ms"]} for name, r in results.items()},
        "goals": GOALS,
        "conditions": conditions(rounds=rounds, conv_input_shape=list(conv_shape), recipe=recipe,
                                 image_shape=list(info.input_shape), compiled_kernels=compiled),
    }
