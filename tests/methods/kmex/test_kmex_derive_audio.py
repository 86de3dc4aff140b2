"""``derive`` for an imported audio model: an ``audio-cnn`` on an ESC-50 folder imported with ``--derive kmex``
gets ``kmex-NAME`` from the ``kmex-sounds`` template, which fits and evaluates through the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.cli.test_derive import _run
from tests.data import fixtures_real as fx

NAME = "my-sounds"
CLASSES = ("tone", "noise", "clicks")
TRAIN_PER_CLASS = 4  # folds 1-3 are ESC-50's training split
RATE = 44100


def _clips() -> list[tuple[int, int, str, bool, float]]:
    """(fold, target, category, esc10, frequency): 4 training clips per class (folds 1-3), one test clip (fold 5)."""
    clips = []
    for target, category in enumerate(CLASSES):
        clips += [(1 + k % 3, target, category, False, 500.0 * (1 + 0.05 * k)) for k in range(TRAIN_PER_CLASS)]
        clips.append((5, target, category, False, 540.0))
    return clips


def _esc50(root) -> None:
    """The ESC-50 folder, each clip rewritten by its class: a tone at its frequency, white noise or 50 clicks a
    second (a random CNN with global pooling hardly tells tones of different pitch apart; textures it does)."""
    import soundfile as sf

    t = np.arange(RATE) / RATE
    rng = np.random.default_rng(0)
    for filename, hz in fx.make_esc50(root, _clips()).items():
        target = int(filename.rsplit("-", 1)[1].split(".")[0])
        wave = [0.5 * np.sin(2 * np.pi * hz * t), 0.3 * rng.standard_normal(len(t)),
                0.8 * (np.arange(len(t)) % (RATE // 50) < 20)][target]
        sf.write(root / "audio" / filename, wave, RATE, subtype="PCM_16")


def _audio_cnn_state(root) -> dict[str, torch.Tensor]:
    """A random-weights audio-cnn, its batch-norm statistics taken on the training clips, whose last layer is
    the nearest class mean of its training embeddings."""
    from interp_core.data.real import load_esc50
    from interp_core.models import build_model

    train = load_esc50(root, folds=(1, 2, 3))
    x = train.inputs(np.arange(len(train)))
    torch.manual_seed(0)
    net = build_model("audio-cnn", in_channels=1, num_classes=len(CLASSES), widths=(4, 6, 8, 8))
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # a cumulative average over the one pass
    with torch.no_grad():
        net.train()(x)
        z = net.eval().embed(x)
        means = torch.stack([z[torch.from_numpy(train.labels == c)].mean(0) for c in range(len(CLASSES))])
        scale = 30.0 / (torch.cdist(means, means).pow(2) + torch.eye(len(CLASSES)) * 1e9).min()
        net.classifier.weight.copy_(2 * scale * means)
        net.classifier.bias.copy_(-scale * means.pow(2).sum(1))
    return net.state_dict()


def _json_of(*argv: str):
    """What a CLI command prints with --json (it must succeed)."""
    rc, out, err = _run(*argv, "--json")
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The audio model imported with --derive kmex into a private cache; the registries are restored afterwards."""
    from interp_core.data import DATASETS
    from interp_core.external import derived as derived_module
    from interp_core.store.recipes import RECIPES

    home, work = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("work")
    _esc50(work / "esc")
    torch.save(_audio_cnn_state(work / "esc"), work / "audio-cnn.pt")
    (work / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    dataset, before = f"esc50:{work / 'esc'}", set(RECIPES.names())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INTERP_CORE_HOME", str(home))
        try:
            rc, out, err = _run("import-model", NAME, "--arch", "audio-cnn", "--arch-kwargs", '{"widths": [4, 6, 8, 8]}',
                                "--weights", str(work / "audio-cnn.pt"), "--classes", str(work / "classes.txt"),
                                "--dataset", dataset, "--derive", "kmex", "--set", "kmex.prototypes_per_class=2",
                                "--set", "kmex.n_init=2", "--set", "kmex.encoder_n_init=1", "--json")
            assert rc == 0, err
            yield {"dataset": dataset, "result": json.loads(out)}
        finally:
            for name in set(RECIPES.names()) - before:
                RECIPES.unregister(name)
                derived_module.ORIGINS.unregister(name)
            DATASETS.unregister(dataset)


def test_derive_takes_the_sounds_template_for_an_audio_model(imported):
    from interp_core.external.derived import derived_from
    from interp_core.store.recipes import get_recipe

    assert imported["result"]["derive"]["derived"] == {"kmex": [f"kmex-{NAME}"]}
    kmex, template = get_recipe(f"kmex-{NAME}"), get_recipe("kmex-sounds")
    assert derived_from(kmex.name) == {"imported": NAME, "template": "kmex-sounds", "starts_from": {"backbone": NAME}}
    assert (kmex.backbone, kmex.dataset, kmex.kind, kmex.shipped) == (NAME, imported["dataset"], "kmex", False)
    assert (kmex.prototypes_per_class, kmex.n_init, kmex.encoder_n_init) == (2, 2, 1)
    # everything not set is the sounds template's, not the shapes one's
    assert (kmex.encoder_pixels_per_image, kmex.shallowest_block) == (template.encoder_pixels_per_image, template.shallowest_block)
    assert "cnn-sounds" not in kmex.description and NAME in kmex.description


# The 1 s clips padded to ESC-50's 5 s give identical (silent) feature rows: some encoder clusters coincide.
@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
def test_derived_kmex_fits_and_evaluates_on_the_imported_audio_model(imported):
    trained, metrics = (_json_of("train", f"kmex-{NAME}", "--quiet"), _json_of("eval", f"kmex-{NAME}"))
    # Three textures: the CNN (nearest class mean) and its KMEx agree on every held-out clip.
    assert metrics["cnn_accuracy"] == 1.0 and metrics["kmex_accuracy"] == 1.0 == trained["accuracy"]
    assert metrics["cos_class_kmex"] > metrics["cos_out_kmex"]  # the prototypes lie with their own class (Table 1)
    assert "gradcam_mask_iou" not in metrics  # ESC-50 has no time-frequency masks to score against
    from interp_core.store import load_model

    boxes = load_model(f"kmex-{NAME}", train_if_missing=False).model.buffer("b234_patch_boxes")
    # each prototype's patch is a box of time-frequency cells of a 5 s clip's (257, 455) spectrogram
    assert boxes.shape == (len(CLASSES) * 2, 4) and int(boxes[:, 2].max()) <= 257 and int(boxes[:, 3].max()) <= 455
    assert bool((boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all())
