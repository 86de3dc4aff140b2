"""Family recipes for an imported model: a torchvision ResNet-18 imported with ``--derive kmex,piq,qsenn``
gets a KMEx recipe (trained and evaluated through the CLI) and the Q-SENN chain built on its architecture;
PIQ, whose shapes template decodes 3 upsampling stages where a 32x32 ResNet-18 needs 5, is refused with
the reason; the derived recipes come back from the cache in a fresh process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from interp_core.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
COLOURS = {"blue": (20, 40, 220), "green": (30, 200, 40), "red": (220, 30, 30)}
NAME = "my-net"
PER_CLASS = 10  # a flat ImageFolder holds out a fifth: 8 training images per class, enough for 5 prototypes each


def _folder(root: Path) -> np.ndarray:
    """3 classes x 10 noisy solid-colour 32x32 PNGs; returns the images ``(30, 32, 32, 3)`` in class order."""
    rng = np.random.default_rng(0)
    images = []
    for name, rgb in sorted(COLOURS.items()):
        (root / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            image = np.clip(np.array(rgb)[None, None] + rng.normal(0, 8, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(root / name / f"{i}.png")
            images.append(image)
    return np.stack(images)


def _resnet18_state(images: np.ndarray, num_classes: int) -> dict[str, torch.Tensor]:
    """A random-weights torchvision ResNet-18 whose last layer is the nearest class mean of its embeddings."""
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=num_classes).eval()
    fc, net.fc = net.fc, torch.nn.Identity()
    with torch.no_grad():
        z = net(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
        means = z.reshape(num_classes, -1, z.shape[1]).mean(1)
        scale = 30.0 / (torch.cdist(means, means).pow(2) + torch.eye(num_classes) * 1e9).min()
        fc.weight.copy_(2 * scale * means)
        fc.bias.copy_(-scale * means.pow(2).sum(1))
    net.fc = fc
    return net.state_dict()


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    """The model imported with --derive into a private cache; the registries are restored afterwards."""
    from interp_core.data import DATASETS
    from interp_core.external import derived as derived_module
    from interp_core.store.recipes import RECIPES

    home, work = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("work")
    images = _folder(work / "colours")
    torch.save(_resnet18_state(images, len(COLOURS)), work / "resnet18.pt")
    (work / "classes.txt").write_text("\n".join(sorted(COLOURS)) + "\n")
    old_home = os.environ.get("INTERP_CORE_HOME")
    os.environ["INTERP_CORE_HOME"] = str(home)
    dataset = f"imagefolder@32:{work / 'colours'}"
    before = set(RECIPES.names())
    try:
        rc, out, err = _run("import-model", NAME, "--arch", "resnet18", "--weights", str(work / "resnet18.pt"),
                            "--classes", str(work / "classes.txt"), "--dataset", dataset, "--derive", "kmex,piq,qsenn",
                            "--set", "kmex.n_init=2", "--set", "kmex.encoder_n_init=1", "--json")
        assert rc == 0, err
        yield {"home": home, "work": work, "dataset": dataset, "result": json.loads(out), "stderr": err}
    finally:
        for name in set(RECIPES.names()) - before:
            RECIPES.unregister(name)
            derived_module.ORIGINS.unregister(name)
        DATASETS.unregister(dataset)
        if old_home is None:
            os.environ.pop("INTERP_CORE_HOME", None)
        else:
            os.environ["INTERP_CORE_HOME"] = old_home


def test_derive_rewrites_every_reference_to_the_imported_model(derived):
    from interp_core.store.recipes import get_recipe

    assert derived["result"]["derive"]["derived"] == {
        "kmex": [f"kmex-{NAME}"],
        "qsenn": [f"qsenn-dense-{NAME}", f"glm-saga5-{NAME}", f"sldd-{NAME}", f"qsenn-{NAME}"],
    }
    kmex = get_recipe(f"kmex-{NAME}")
    assert (kmex.backbone, kmex.dataset, kmex.kind, kmex.shipped) == (NAME, derived["dataset"], "kmex", False)
    assert (kmex.n_init, kmex.encoder_n_init, kmex.prototypes_per_class) == (2, 1, get_recipe("kmex-shapes").prototypes_per_class)
    dense = get_recipe(f"qsenn-dense-{NAME}")
    assert (dense.init_from, dense.arch, dense.dataset) == (NAME, "resnet18", derived["dataset"])
    sparse = get_recipe(f"qsenn-{NAME}")
    assert sparse.dense == dense.name and sparse.compare == (f"glm-saga5-{NAME}", f"sldd-{NAME}")
    assert sparse.n_features == get_recipe("qsenn-shapes").n_features  # the rest is the template's
    assert "cnn-shapes" not in kmex.description and NAME in kmex.description


def test_a_template_that_does_not_fit_is_refused_with_the_reason(derived):
    from interp_core.store.recipes import RECIPES

    reason = derived["result"]["derive"]["skipped"]["piq"]
    assert "'piq-shapes' does not fit 'my-net' (resnet18" in reason
    assert "takes 5 upsampling stages, but decoder_widths has 3" in reason
    assert f"skipped piq: {reason}" in derived["stderr"]
    assert f"piq-{NAME}" not in RECIPES


def test_refusals_of_the_derive_command(derived):
    rc, _, err = _run("derive", NAME, "--families", "clip")
    assert rc == 2 and "'clip-shapes' does not start from a classifier recipe" in err
    rc, _, err = _run("derive", "cnn-shapes", "--families", "kmex")
    assert rc == 2 and "'cnn-shapes' is not an imported model" in err
    rc, _, err = _run("derive", NAME, "--families", "kmex", "--set", "kmex.no_such_field=1")
    assert rc == 2 and "no recipe derived for kmex has a field 'no_such_field'" in err


def test_deriving_again_replaces_the_model_own_recipes_only(derived):
    from interp_core.store.recipes import get_recipe, recipe_hash

    before = recipe_hash(get_recipe(f"kmex-{NAME}"))
    rc, out, err = _run("derive", NAME, "--families", "kmex", "--set", "kmex.n_init=2", "--set", "kmex.encoder_n_init=1", "--json")
    assert rc == 0, err
    assert json.loads(out)["derived"] == {"kmex": [f"kmex-{NAME}"]} and recipe_hash(get_recipe(f"kmex-{NAME}")) == before
    stored = json.loads(Path(json.loads(out)["file"]).read_text())
    assert [e["recipe"]["name"] for e in stored["recipes"]].count(f"kmex-{NAME}") == 1 and len(stored["recipes"]) == 5


def test_derived_kmex_trains_and_evaluates_through_the_cli(derived):
    rc, out, err = _run("train", f"kmex-{NAME}", "--quiet", "--json")
    assert rc == 0, err
    trained = json.loads(out)
    rc, out, err = _run("eval", f"kmex-{NAME}", "--json")
    assert rc == 0, err
    metrics = json.loads(out)
    # Three well-separated colours: the nearest-prototype KMEx classifies the held-out images as the CNN does.
    assert metrics["accuracy"] == pytest.approx(trained["accuracy"]) and metrics["accuracy"] == 1.0
    assert {"kmex_accuracy", "cnn_accuracy"} <= set(metrics) and metrics["cnn_accuracy"] == 1.0
    # A fresh process lists the derived recipes from the cache, the trained one as current.
    env = dict(os.environ, INTERP_CORE_HOME=str(derived["home"]))
    out = subprocess.run([sys.executable, "-m", "interp_core", "list", "--json"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    recipes = {r["name"]: r for r in json.loads(out.stdout)["recipes"]}
    entry = recipes[f"kmex-{NAME}"]
    assert entry["derived"] == {"imported": NAME, "template": "kmex-shapes", "starts_from": {"backbone": NAME}}
    assert entry["kind"] == "kmex" and entry["dataset"] == derived["dataset"]
    assert (entry["status"], entry["code"]) == ("cache", "current")
    assert recipes[f"qsenn-{NAME}"]["derived"]["starts_from"] == {
        "dense": f"qsenn-dense-{NAME}", "compare": [f"glm-saga5-{NAME}", f"sldd-{NAME}"]}
    assert recipes[f"qsenn-dense-{NAME}"]["derived"]["starts_from"] == {"init_from": NAME}
    assert f"piq-{NAME}" not in recipes


def test_set_makes_a_template_fit_and_training_names_what_the_data_lacks(derived):
    from interp_core.store.recipes import get_recipe

    rc, out, err = _run("derive", NAME, "--families", "piq", "--set", "piq.decoder_widths=[32, 16, 8, 8, 8]", "--json")
    assert rc == 0, err
    piq = get_recipe(f"piq-{NAME}")
    assert (piq.backbone, piq.decoder_widths, piq.target) == (NAME, (32, 16, 8, 8, 8), get_recipe("piq-shapes").target)
    # The shapes template trains on the dataset's object masks, which an ImageFolder does not have.
    rc, out, err = _run("train", f"piq-{NAME}", "--quiet")
    assert rc == 2 and "has no ground-truth masks; choose another PIQ target" in err


@pytest.mark.slow
def test_derived_qsenn_chain_trains_on_the_imported_architecture(derived):
    rc, out, err = _run("train", f"qsenn-{NAME}", "--quiet", "--json")
    assert rc == 0, err
    metrics = json.loads(out)
    from interp_core.store.recipes import get_recipe

    recipe = get_recipe(f"qsenn-{NAME}")
    # The ternary layer: n_wc weights per class on the selected features of the dense ResNet-18 (512 features).
    assert metrics["nonzero"] == recipe.per_class * len(COLOURS) and metrics["n_features"] <= recipe.n_features
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["dense_accuracy"] <= 1.0


def test_a_derived_piq_recipe_trains_on_mixtures_only_where_the_dataset_has_them():
    """piq-sounds trains on sounds-mix too; re-made for another dataset (no contaminated counterpart) it
    keeps its architecture and drops that option, instead of failing at training time."""
    import dataclasses

    from interp_core.external.derived import derive_chain
    from interp_core.store.recipes import get_recipe

    template = get_recipe("piq-sounds")
    assert template.train_on_mixtures
    imported = dataclasses.replace(get_recipe("cnn-sounds"), name="my-audio", dataset="esc50:/data/ESC-50-master", shipped=False)
    (_, piq), = derive_chain(template, imported)
    assert (piq.backbone, piq.dataset, piq.train_on_mixtures) == ("my-audio", "esc50:/data/ESC-50-master", False)
    assert (piq.decoder_widths, piq.input_head, piq.skip_block) == (template.decoder_widths, True, 0)
    assert piq.training_datasets == ("esc50:/data/ESC-50-master",)
    # On the template's own dataset the option stays.
    same = dataclasses.replace(imported, dataset="sounds")
    assert derive_chain(template, same)[0][1].train_on_mixtures
