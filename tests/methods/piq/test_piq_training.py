"""PIQ training on contaminated inputs (``train_on_mixtures``): every source of a mixture is an example
for its own class with its own mask, the mixture's representation computed once."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from interp_core.methods.piq import metrics, training
from interp_core.methods.piq.model import PIQInterpreter, PIQModel
from interp_core.models import build_model
from interp_core.store.recipes import get_recipe

SIZE = (64, 48)


class ToySplit:
    """A split of ``n`` random inputs; ``mixture`` adds two sources per input (the second absent in row 1)."""

    def __init__(self, n: int, seed: int, mixture: bool = False):
        rng = np.random.default_rng(seed)
        self.x = rng.uniform(0, 1, (n, 1, *SIZE)).astype(np.float32)
        self.extras = {"masks": rng.random((n, *SIZE)) < 0.3}
        if mixture:
            labels = np.stack([np.arange(n) % 3, (np.arange(n) + 1) % 3], 1)
            labels[1, 1] = -1
            self.extras = {"source_labels": labels, "source_masks": rng.random((n, 2, *SIZE)) < 0.2}

    def __len__(self):
        return len(self.x)

    def inputs(self, index):
        return torch.from_numpy(self.x[np.asarray(index)])


@pytest.fixture
def toy(monkeypatch):
    torch.manual_seed(0)
    backbone = build_model("audio-cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8)).eval()
    interpreter = PIQInterpreter(8, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4, 4), input_channels=1, input_width=4,
                                 head_upsamples=True)
    model = PIQModel(backbone, interpreter)
    splits = {"toy": ToySplit(12, 1), "toy-mix": ToySplit(5, 2, mixture=True)}
    monkeypatch.setattr(training, "load_split", lambda name, part: splits[name])
    monkeypatch.setattr(metrics, "MIXTURES", {**metrics.MIXTURES, "toy": ("toy-mix", "source_labels", "source_masks")})
    recipe = dataclasses.replace(get_recipe("piq-sounds"), name="piq-toy", dataset="toy", epochs=1, batch_size=4,
                                 train_on_mixtures=True, shipped=False)
    return model, recipe, splits


def test_every_present_source_of_a_mixture_is_an_example_of_its_own_class(toy):
    model, recipe, splits = toy
    mix = training.mixture_representations(model, recipe, torch.device("cpu"), batch_size=2)
    split = splits["toy-mix"]
    labels, masks = split.extras["source_labels"], split.extras["source_masks"]
    present = [(i, k) for i in range(5) for k in range(2) if labels[i, k] >= 0]
    assert len(present) == 9  # 5 mixtures x 2 sources, one absent
    assert mix["rows"].tolist() == [i for i, _ in present]
    assert mix["classes"].tolist() == [int(labels[i, k]) for i, k in present]
    assert torch.equal(mix["targets"], torch.from_numpy(np.stack([masks[i, k] for i, k in present])))
    # One representation per mixture (both of its examples read it), the input kept for the input head.
    assert mix["features"].shape[0] == 5 and mix["inputs"].shape == (5, 1, *SIZE)
    _, features, _ = model.representations(split.inputs([3]))
    assert torch.allclose(mix["features"][3], features[0])


def test_training_on_mixtures_adds_the_sources_to_the_clean_examples(toy):
    model, recipe, _ = toy
    seen = []
    forward = model.interpreter.forward

    def spy(features, classes, *args, **kwargs):
        seen.append(classes.clone())
        return forward(features, classes, *args, **kwargs)

    model.interpreter.forward = spy
    stats = training.train_piq(recipe, model, torch.device("cpu"), None, show_bar=False)
    assert stats["train_samples"] == 12 and stats["mixture_examples"] == 9
    assert len(stats["history"]) == 1 and np.isfinite(stats["history"][0]["loss"])
    # After the codebook's seeding pass, one epoch visits all 21 examples once, in batches of 4.
    epoch = torch.cat(seen[-6:])
    assert len(epoch) == 21
    clean_rows = training.classifier_representations(model, ToySplit(12, 1), recipe, torch.device("cpu"))
    expected = torch.cat([clean_rows["predicted"], torch.tensor([0, 1, 1, 2, 0, 0, 1, 1, 2])])
    assert sorted(epoch.tolist()) == sorted(expected.tolist())


def test_a_dataset_without_a_contaminated_counterpart_is_refused(toy):
    model, recipe, _ = toy
    with pytest.raises(ValueError, match="no contaminated counterpart"):
        training.mixture_representations(model, dataclasses.replace(recipe, dataset="nothing"), torch.device("cpu"))


def test_the_mixture_dataset_is_part_of_the_recipes_training_data():
    assert get_recipe("piq-sounds").training_datasets == ("sounds", "sounds-mix")
    assert get_recipe("piq-digits").training_datasets == ("digits",)


@pytest.mark.parametrize("name", ["piq-sounds", "piq-sounds-block3"])
def test_the_sounds_recipes_build_on_the_real_backbone_and_quantise_the_block_they_name(name):
    """build_piq checks the decoder against the backbone's strides; the codes lie on the named block's grid."""
    recipe = get_recipe(name)
    model = training.build_piq(recipe).eval()
    x = torch.rand(1, 1, 257, 182)
    with torch.no_grad():
        outputs = model.backbone.block_outputs(x)
        result = model.interpret(x)
    grid = outputs[recipe.quantised_block - 1] if recipe.quantised_block else outputs[-1]
    assert result.mask.shape == (1, 257, 182) and tuple(result.indices.shape[-2:]) == tuple(grid.shape[-2:])
    assert (name == "piq-sounds-block3") == (tuple(grid.shape[-2:]) == (33, 23))
    with pytest.raises(ValueError, match="quantised_block 9"):
        training.build_piq(dataclasses.replace(recipe, quantised_block=9))
