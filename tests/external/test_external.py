"""Real datasets by name, torchvision architectures with torchvision's keys, and the GPU-sized recipes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


def test_real_names_parse_and_agree_with_the_loaders():
    from interp_core.data.real import REAL_DATASETS
    from interp_core.external.datasets import REAL_KINDS, parse_real_name

    assert set(REAL_KINDS) == set(REAL_DATASETS)
    real = parse_real_name("cub@448:CUB_200_2011")
    assert (real.kind, real.size, real.root) == ("cub", 448, "CUB_200_2011") and real.path().name == "CUB_200_2011"
    assert parse_real_name("imagefolder:/data/x").size is None
    for bad, message in [("nope:/x", "Unknown real dataset kind"), ("cifar10@64:/x", "fixed input size"), ("shapes", "KIND:ROOT")]:
        with pytest.raises(ValueError, match=message):
            parse_real_name(bad)


@pytest.mark.parametrize("arch", ["resnet18", "densenet121", "vgg11"])
def test_torchvision_architectures_keep_torchvision_keys_and_outputs(arch):
    import torchvision

    import interp_core.external.architectures  # noqa: F401
    from interp_core.models import build_model

    torch.manual_seed(0)
    reference = getattr(torchvision.models, arch)(weights=None, num_classes=5).eval()
    ours = build_model(arch, in_channels=3, num_classes=5).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)  # the same keys and shapes
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-5)
        outputs = ours.block_outputs(x)
        assert torch.allclose(ours.classifier(ours.embed(x)), reference(x), atol=1e-5)
    seen = []
    handle = ours.gradcam_layer.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    ours(x)
    handle.remove()
    assert seen and seen[0][1] == outputs[-1].shape[1]  # Grad-CAM's layer runs in the forward, at the last block's width
    assert len(outputs) == (5 if arch == "vgg11" else 4)
    if arch == "resnet18":  # other input channels: a new stem convolution
        gray = build_model(arch, in_channels=1, num_classes=5)
        assert gray.conv1.in_channels == 1 and gray(torch.rand(2, 1, 32, 32)).shape == (2, 5)


def test_flat_image_folder_holds_out_a_fifth_of_each_class(tmp_path):
    from PIL import Image

    from interp_core.data.real import load_named

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(10):
            Image.fromarray(np.full((8, 8, 3), 20 * i, dtype=np.uint8)).save(tmp_path / c / f"{i}.png")
    opts = dict(name="imagefolder@8:x", kind="imagefolder", root=tmp_path, image_size=8)
    train, test = load_named("train", **opts), load_named("test", **opts)
    assert (len(train), len(test)) == (16, 4) and np.bincount(test.labels).tolist() == [2, 2]
    assert not set(train.extras["paths"]) & set(test.extras["paths"])
    assert train.info.name == "imagefolder@8:x" and train.info.input_shape == (3, 8, 8)


def test_gpu_recipes_are_listed_not_shipped_and_listing_stays_torch_free():
    code = ("import sys\n"
            "from interp_core.store.recipes import all_recipes\n"
            "from interp_core.external.recipes import GPU_RECIPES\n"
            "r = all_recipes()\n"
            "assert set(GPU_RECIPES) <= set(r) and not any(r[n].shipped for n in GPU_RECIPES)\n"
            "assert r['bcos-resnet50-cub'].dataset == 'cub@448:CUB_200_2011' and r['piq-esc50'].dataset.startswith('esc50:')\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_train_refuses_a_gpu_recipe_on_the_cpu_with_an_estimate():
    if torch.cuda.is_available():
        pytest.skip("CUDA present: the recipe would train")
    out = subprocess.run([sys.executable, "-m", "interp_core", "train", "cnn-esc50"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "cnn-esc50 is sized for a GPU" in out.stderr and "would take about" in out.stderr
    assert "100 passes over 1200 training samples" in out.stderr and "measured now" in out.stderr


def test_estimate_scales_with_the_recipe():
    from interp_core.external.estimate import estimate_cpu_seconds

    est = estimate_cpu_seconds("cnn-esc50")
    assert est["samples"] == 1200 and est["passes"] == 100
    assert est["seconds"] == pytest.approx(est["per_sample_seconds"] * 1200 * 100)
    assert est["per_sample_seconds"] > 0
