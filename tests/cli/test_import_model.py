"""Bring your own model: a torchvision ResNet-18 state dict and a tiny ImageFolder, imported with
``import-model`` and explained through the CLI (Compare maps, a pointing-game row); bad weights are
refused with clear messages; ``list --json`` shows the import with its card from a fresh process."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from interp_core.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
COLOURS = {"blue": (20, 40, 220), "green": (30, 200, 40), "red": (220, 30, 30), "yellow": (230, 220, 30)}
NAME = "my-resnet18"


class _Exploit:
    """Unpickling this runs os.system: a real malicious payload."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _folder(root: Path) -> np.ndarray:
    """A flat ImageFolder: 4 classes x 4 noisy solid-colour 32x32 PNGs; returns the images ``(16, 32, 32, 3)``
    in class-folder order."""
    rng = np.random.default_rng(0)
    images = []
    for name, rgb in sorted(COLOURS.items()):
        (root / name).mkdir(parents=True)
        for i in range(4):
            image = np.clip(np.array(rgb)[None, None] + rng.normal(0, 8, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(root / name / f"{i}.png")
            images.append(image)
    return np.stack(images)


def _resnet18_state(images: np.ndarray, num_classes: int = 4) -> dict[str, torch.Tensor]:
    """A torchvision ResNet-18 with random weights whose last layer is set to the nearest class mean of
    its own embeddings (so it classifies the colours confidently and the pointing game finds grids)."""
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=num_classes).eval()
    fc, net.fc = net.fc, torch.nn.Identity()
    with torch.no_grad():
        z = net(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
        means = z.reshape(num_classes, -1, z.shape[1]).mean(1)[: num_classes]
        gaps = torch.cdist(means, means).pow(2) + torch.eye(num_classes) * 1e9
        scale = 30.0 / gaps.min()
        fc.weight.copy_(2 * scale * means)
        fc.bias.copy_(-scale * means.pow(2).sum(1))
    net.fc = fc
    return net.state_dict()


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The model imported into a private cache; the registries are restored afterwards."""
    from interp_core.data import DATASETS
    from interp_core.store.recipes import RECIPES

    home = tmp_path_factory.mktemp("home")
    work = tmp_path_factory.mktemp("work")
    images = _folder(work / "colours")
    torch.save(_resnet18_state(images), work / "resnet18.pt")
    (work / "classes.txt").write_text("\n".join(sorted(COLOURS)) + "\n")
    old_home = os.environ.get("INTERP_CORE_HOME")
    os.environ["INTERP_CORE_HOME"] = str(home)
    dataset = f"imagefolder@32:{work / 'colours'}"
    try:
        yield {"home": home, "work": work, "dataset": dataset}
    finally:
        RECIPES.unregister(NAME)
        DATASETS.unregister(dataset)
        if old_home is None:
            os.environ.pop("INTERP_CORE_HOME", None)
        else:
            os.environ["INTERP_CORE_HOME"] = old_home


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def import_result(imported):
    work = imported["work"]
    argv = ["import-model", NAME, "--arch", "resnet18", "--weights", str(work / "resnet18.pt"),
            "--classes", str(work / "classes.txt"), "--dataset", imported["dataset"], "--json"]
    from contextlib import redirect_stdout
    from io import StringIO

    buffer = StringIO()
    with redirect_stdout(buffer):
        rc = main(argv)
    assert rc == 0
    return json.loads(buffer.getvalue())


def test_import_registers_a_loadable_model_with_its_card(import_result, imported):
    from interp_core.store.catalog import checkpoint_status, code_status
    from interp_core.store.models import load_model

    card = import_result["card"]
    assert card["recipe"] == NAME and card["kind"] == "classifier" and card["family"] == "standard"
    assert card["class_names"] == sorted(COLOURS) and card["input_shape"] == [3, 32, 32]
    assert import_result["test_metrics"]["accuracy"] == 1.0 and import_result["test_metrics"]["n"] == 4  # one held-out image per class
    loaded = load_model(NAME, "cpu", train_if_missing=False)
    assert loaded.source == "cache" and loaded.card.fingerprint == card["fingerprint"]
    assert (checkpoint_status(NAME), code_status(NAME)) == ("cache", "imported")


@pytest.mark.parametrize("launcher", [[], ["--nproc", "2"]], ids=["one-process", "torchrun"])
def test_train_refuses_an_imported_model_on_every_path(import_result, capsys, launcher):
    rc, out, err = _run(capsys, "train", NAME, "--quiet", *launcher)
    assert rc == 2 and out == ""
    assert err == (f"error: {NAME!r} is an imported model; its weights are not trained here "
                   "(import-model --replace brings in new ones).\n")


def test_compare_maps_through_the_cli(import_result, imported, capsys, tmp_path):
    rc, out, err = _run(capsys, "compare", "--model", NAME, "--methods", "gradient,gradcam,integrated_gradients",
                        "--out", str(tmp_path), "--json")
    assert rc == 0, err
    payload = json.loads(out)
    entries = {e["method"]: e for e in payload["entries"]}
    assert set(entries) == {"gradient", "gradcam", "integrated_gradients"}
    for entry in entries.values():
        assert entry["error"] is None and entry["predicted"] == payload["label"]
        attribution = np.load(entry["map_file"], allow_pickle=False)
        assert attribution.shape == (32, 32) and np.isfinite(attribution).all() and np.abs(attribution).max() > 0


def test_pointing_game_row_through_the_cli(import_result, capsys):
    rc, out, err = _run(capsys, "pointing-game", "--model", NAME, "--methods", "gradient", "--grids", "1", "--size", "2", "--json")
    assert rc == 0, err
    row = json.loads(out)["results"][0]
    assert row["model"] == NAME and row["method"] == "gradient"
    assert row["grids"] == 1 and row["n"] == 4 and row["pool"] == 4  # 4 test images -> one 2x2 grid of 4 targets
    assert 0.0 <= row["mean"] <= 1.0 and row["uniform"] == pytest.approx(0.25)


def test_list_json_shows_the_import_with_its_card_in_a_fresh_process(import_result, imported):
    env = dict(os.environ, INTERP_CORE_HOME=str(imported["home"]))
    out = subprocess.run([sys.executable, "-m", "interp_core", "list", "--json"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    entry = next(r for r in json.loads(out.stdout)["recipes"] if r["name"] == NAME)
    assert entry["imported"] is True and entry["status"] == "cache" and entry["code"] == "imported"
    assert entry["card"]["class_names"] == sorted(COLOURS) and entry["card"]["fingerprint"] == import_result["card"]["fingerprint"]
    assert entry["dataset"] == imported["dataset"]


def test_wrong_shapes_are_refused_naming_the_key(imported, capsys):
    from safetensors.torch import save_file

    work = imported["work"]
    state = _resnet18_state(np.zeros((20, 32, 32, 3), dtype=np.uint8) + 100, num_classes=5)
    save_file({k: v.contiguous() for k, v in state.items()}, work / "five.safetensors")
    rc, out, err = _run(capsys, "import-model", "wrong-shapes", "--arch", "resnet18", "--weights", str(work / "five.safetensors"),
                        "--classes", str(work / "classes.txt"), "--dataset", imported["dataset"])
    assert rc == 2
    assert "Shape mismatch at 'fc.weight': the file has (5, 512), architecture 'resnet18' expects (4, 512)" in err
    assert "Traceback" not in err


def test_a_pickle_with_code_is_refused_and_never_run(imported, capsys):
    work = imported["work"]
    marker = work / "pwned"
    with open(work / "evil.pt", "wb") as fh:
        pickle.dump({"fc.weight": _Exploit(str(marker))}, fh)
    rc, out, err = _run(capsys, "import-model", "evil", "--arch", "resnet18", "--weights", str(work / "evil.pt"),
                        "--classes", str(work / "classes.txt"), "--dataset", imported["dataset"])
    assert rc == 2
    assert "contains objects other than plain tensors and was refused for safety" in err
    assert "Save a state_dict (or a safetensors file) instead." in err
    assert not marker.exists(), "the pickle payload ran"


def test_classes_must_match_the_dataset(imported, capsys):
    work = imported["work"]
    (work / "shuffled.txt").write_text("red\nblue\ngreen\nyellow\n")
    rc, out, err = _run(capsys, "import-model", "shuffled", "--arch", "resnet18", "--weights", str(work / "resnet18.pt"),
                        "--classes", str(work / "shuffled.txt"), "--dataset", imported["dataset"])
    assert rc == 2 and "in another order" in err
