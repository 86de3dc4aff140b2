"""B-cos speed benchmark: the cost of the B-cos layer and of explanations, as ratios to plain baselines.

``run_bcos_benchmark()`` returns

* ``conv_overhead``: :class:`BcosConv2d` forward+backward time / ``nn.Conv2d`` forward+backward time on
  the same shapes (goal <= 1.5); ``network_overhead`` the same for a training step of the whole
  ``bcos-shapes`` network against its twin built from ``nn.Conv2d`` (what training time pays);
* ``explain_over_forward``: one-class explanation of one image (contribution map, i.e. ``attribute``) /
  plain forward of that image without autograd (goal <= 3.5);
* ``batched5_over_single``: five-class explanation of one image / one-class explanation (goal <= 2);

plus the raw median wall-clock times in milliseconds, the same ratios and times in process CPU time
(steadier on a shared machine; with several threads it sums their work) and the conditions (threads,
load average, shapes). Every time is the median of ``repeats`` runs after warm-up runs. The model is
the ``bcos-shapes`` architecture, freshly initialised (its cost does not depend on the weights).
On a loaded machine, multi-threaded timings of batch-1 work can be dominated by threads waiting for
each other; compare with ``torch.set_num_threads(1)`` before reading much into them.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable

import torch
import torch.nn as nn


def _median_ms(fn: Callable[[], Any], repeats: int, warmup: int = 2) -> tuple[float, float]:
    """Median wall-clock and median process-CPU milliseconds of ``fn`` (after ``warmup`` calls). On a
    shared machine the CPU time is the steadier of the two."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


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


def run_bcos_benchmark(repeats: int = 7, recipe: str = "bcos-shapes", conv_shape: tuple[int, int, int, int] = (64, 64, 16, 16)) -> dict[str, Any]:
    """Time the B-cos layer and explanations (see module docstring). ``conv_shape`` is the
    ``(N, C, H, W)`` input of the 3x3 convolution comparison (C -> C channels, padding 1)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}.")
    from interp_core.data import dataset_info
    from interp_core.methods import get_explainer
    from interp_core.models import build_model
    from interp_core.models.bcos import BcosConv2d
    from interp_core.store.models import model_card
    from interp_core.store.recipes import get_recipe

    gen = torch.Generator().manual_seed(0)
    n, c, h, w = conv_shape
    x = torch.rand(n, c, h, w, generator=gen).requires_grad_(True)
    conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
    bcos = BcosConv2d(c, c, 3, padding=1)
    times = {
        "conv2d_fwd_bwd": _median_ms(_fwd_bwd(conv, x), repeats),
        "bcos_conv2d_fwd_bwd": _median_ms(_fwd_bwd(bcos, x), repeats),
    }

    spec = get_recipe(recipe)
    info = dataset_info(spec.dataset)
    torch.manual_seed(0)
    model = build_model(spec.arch, in_channels=info.input_shape[0], num_classes=info.num_classes, **spec.arch_kwargs)
    # The whole network in a training step against its twin with every B-cos conv an nn.Conv2d.
    twin = _plain_twin(model)
    batch = torch.rand(n, *info.input_shape, generator=gen)
    times["network_fwd_bwd"] = _median_ms(_fwd_bwd(model.train(), batch), repeats)
    times["plain_twin_fwd_bwd"] = _median_ms(_fwd_bwd(twin.train(), batch), repeats)
    model.eval()
    explainer = get_explainer("bcos", model, model_card(spec, {"weights_sha256": "untrained"}))
    image = torch.rand(1, *info.input_shape, generator=gen)
    five = image.expand(5, *info.input_shape)
    targets5 = torch.arange(5)

    def forward() -> None:
        with torch.no_grad():
            model(image)

    times["forward_1_image"] = _median_ms(forward, repeats)
    times["explain_1_class"] = _median_ms(lambda: explainer.attribute(image, targets5[:1]), repeats)
    times["explain_5_classes"] = _median_ms(lambda: explainer.attribute(five, targets5), repeats)
    times["explain_5_classes_with_extras"] = _median_ms(lambda: explainer.explain(image[0], targets5.tolist()), repeats)
    ratios = {
        "conv_overhead": ("bcos_conv2d_fwd_bwd", "conv2d_fwd_bwd"),
        "network_overhead": ("network_fwd_bwd", "plain_twin_fwd_bwd"),
        "explain_over_forward": ("explain_1_class", "forward_1_image"),
        "batched5_over_single": ("explain_5_classes", "explain_1_class"),
    }
    return {
        **{name: times[num][0] / times[den][0] for name, (num, den) in ratios.items()},
        "cpu_time_ratios": {name: times[num][1] / times[den][1] for name, (num, den) in ratios.items()},
        "times_ms": {name: wall for name, (wall, _) in times.items()},
        "cpu_times_ms": {name: cpu for name, (_, cpu) in times.items()},
        "goals": {"conv_overhead": 1.5, "explain_over_forward": 3.5, "batched5_over_single": 2.0},
        "conditions": {
            "repeats": repeats,
            "conv_input_shape": list(conv_shape),
            "recipe": recipe,
            "image_shape": list(info.input_shape),
            "threads": torch.get_num_threads(),
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
