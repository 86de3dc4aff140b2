"""The clip-shapes recipe's model: a real open_clip model from a registered custom config, contrastive
training that learns, the zero-shot hold-out, retrieval and a shipped-model check (slow)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from interp_core.methods.clip.model import ClipEncoder, build_recipe_clip
from interp_core.methods.clip.recipes import ClipRecipe
from interp_core.methods.clip.training import class_prompts, contrastive_loss, retrieval_recall, training_samples

TINY = ClipRecipe(name="clip-tiny-test", dataset="shapes", family="clip", embed_dim=16, image_size=16, vision_layers=2,
                  vision_width=32, vision_head_width=16, patch_size=8, text_width=32, text_heads=2, text_layers=1)


TEXTS = ["a red circle", "a scarlet disc", "a blue striped square", "a blue square"] + \
    [f"a photo of shape number {i} in colour {c}" for i, c in zip(range(16), "rgbyrgbyrgbyrgby")]


@pytest.fixture(scope="module")
def tiny() -> ClipEncoder:
    torch.manual_seed(0)
    model = build_recipe_clip(TINY)
    model.set_vocabulary(TEXTS)
    return model


def test_a_compact_vocabulary_renumbers_the_bpe_tokens_the_texts_use(tiny):
    import open_clip

    bpe = tiny.tokenizer(["a red circle", "a zebra"])
    tokens = tiny.tokenize(["a red circle", "a zebra"])
    assert tiny.clip.token_embedding.num_embeddings == TINY.vocabulary_size == 512
    # Start of text, the words, end of text on the last row (open_clip pools at the highest id), padding 0.
    assert tokens[0, 0] == 1 and tokens[0, 4] == 511 and (tokens[0, 5:] == 0).all() and tokens[0, 1:4].unique().numel() == 3
    assert (tokens.argmax(1) == (bpe == tiny.tokenizer.eot_token_id).int().argmax(1)).all()
    # "zebra" is in none of the texts: it reads as the unknown token; "a" keeps its row.
    assert tokens[1, 1] == tokens[0, 1] and (tokens[1, 2:int(tokens[1].argmax())] == ClipEncoder.UNKNOWN).all()
    # The table travels with the weights: a fresh model loaded from them tokenizes and embeds the same.
    torch.manual_seed(5)
    again = build_recipe_clip(TINY)
    with pytest.raises(RuntimeError, match="not set"):
        again.tokenize(["a red circle"])
    again.load_state_dict(tiny.state_dict())
    assert torch.equal(again.tokenize(TEXTS), tiny.tokenize(TEXTS))
    with torch.no_grad():
        assert torch.allclose(again.eval().encode_texts(TEXTS), tiny.eval().encode_texts(TEXTS))
    assert set(open_clip.tokenize(["a red circle"])[0].tolist()) <= set(tiny.vocabulary.tolist()) | {0}


def test_a_vocabulary_too_small_for_the_texts_says_which_field_to_raise():
    small = build_recipe_clip(dataclasses.replace(TINY, name="clip-tiny-small", vocabulary_size=8))
    with pytest.raises(ValueError, match="vocabulary_size"):
        small.set_vocabulary(TEXTS)
    full = build_recipe_clip(dataclasses.replace(TINY, name="clip-tiny-full", vocabulary_size=0))
    assert full.vocabulary is None and full.clip.token_embedding.num_embeddings == 49408
    assert torch.equal(full.tokenize(["a red circle"]).cpu(), full.tokenizer(["a red circle"]))


def test_the_recipe_config_is_registered_with_open_clip_and_builds_its_towers(tiny):
    import open_clip

    assert tiny.name in open_clip.list_models()
    assert open_clip.get_model_config(tiny.name) == TINY.model_config()
    assert isinstance(tiny.clip, open_clip.CLIP) and tiny.image_size == (16, 16)
    shipped = ClipRecipe(name="x", dataset="shapes", family="clip").model_config()
    assert shipped["vision_cfg"]["layers"] == (1, 1, 1, 1) and "patch_size" not in shipped["vision_cfg"]  # a ResNet tower


def test_embeddings_are_normalised_and_inputs_of_any_size_are_resized(tiny):
    with torch.no_grad():
        images = tiny.encode_images(torch.rand(3, 3, 64, 64))
        texts = tiny.encode_texts(["a red circle", "a blue striped square"])
        concepts = tiny.prompt_embeddings({"a": ["a red circle", "a scarlet disc"], "b": ["a blue square"]})
    assert images.shape == (3, 16) and texts.shape == (2, 16) and concepts.shape == (2, 16)
    for e in (images, texts, concepts):
        assert torch.linalg.norm(e, dim=1) == pytest.approx(torch.ones(len(e)), abs=1e-5)
    with torch.no_grad():  # the ensemble is the normalised mean of its prompts' embeddings
        pair = tiny.encode_texts(["a red circle", "a scarlet disc"]).mean(0)
    assert concepts[0] == pytest.approx(pair / pair.norm(), abs=1e-5)


def test_a_few_contrastive_steps_lower_the_loss():
    torch.manual_seed(1)
    model = build_recipe_clip(TINY).train()
    model.set_vocabulary(TEXTS)
    images = torch.rand(16, 3, 16, 16)
    tokens = model.tokenize([f"a photo of shape number {i} in colour {c}" for i, c in zip(range(16), "rgbyrgbyrgbyrgby")])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(10):
        loss = contrastive_loss(model, images, tokens)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[0] > np.log(16) - 0.5  # untrained: no better than chance over 16 pairs
    assert losses[-1] < 0.6 * losses[0]


def test_training_leaves_out_the_zero_shot_combinations():
    from interp_core.data.captions import mentions_zero_shot, zero_shot_classes

    train = training_samples(TINY)
    assert not np.isin(train.labels, zero_shot_classes()).any()
    assert not any(mentions_zero_shot(c) for c in train.captions)
    kept = training_samples(dataclasses.replace(TINY, hold_out_zero_shot=False))
    assert len(kept) == 10_000 and len(train) == pytest.approx(10_000 * 44 / 48, abs=30)


def test_class_prompts_and_retrieval_recall():
    prompts = class_prompts(["red striped circle"])
    assert prompts["red striped circle"][0] == "a photo of a red striped circle"
    e = torch.nn.functional.normalize(torch.randn(50, 8), dim=1)
    assert retrieval_recall(e, e, k=1) == {"image_to_text_recall_at_1": 1.0, "text_to_image_recall_at_1": 1.0}
    shifted = retrieval_recall(e, e.roll(1, 0), k=1)
    assert shifted["image_to_text_recall_at_1"] < 0.2


@pytest.mark.slow
def test_the_shipped_clip_shapes_recognises_concepts_and_held_out_combinations():
    """Zero-shot on the shipped model: well above chance (1/48) on all classes and on the held-out ones."""
    from interp_core.store import evaluate_recipe

    metrics = evaluate_recipe("clip-shapes")
    assert metrics["zero_shot_accuracy"] > 0.3
    assert metrics["heldout_zero_shot_accuracy"] > 0.1
    assert metrics["concept_accuracy_color"] > 0.9
