"""Pretrained open_clip models come from this machine only: a local file, or the local Hugging Face cache.
Missing weights fail at once with a message that says what to do; nothing is downloaded."""
from __future__ import annotations

import dataclasses
import time

import open_clip  # noqa: F401  (imported once here, so the timings below measure the checks, not the import)
import pytest
import torch

from interp_core.methods.clip.model import build_recipe_clip
from interp_core.methods.clip.pretrained import ClipWeightsError, cached_weights, load_pretrained_clip
from test_clip_training import TINY


def test_a_missing_weights_file_fails_fast_and_says_so(tmp_path):
    start = time.perf_counter()
    with pytest.raises(ClipWeightsError, match="does not exist.*nothing is downloaded"):
        load_pretrained_clip("ViT-B-32", tmp_path / "missing.safetensors")
    assert time.perf_counter() - start < 5


def test_weights_not_in_the_local_cache_fail_fast_without_contacting_the_hub(tmp_path, monkeypatch):
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise AssertionError("the hub was contacted")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    start = time.perf_counter()
    with pytest.raises(ClipWeightsError, match="not in the local Hugging Face cache"):
        load_pretrained_clip("ViT-B-32", tag="openai", cache_dir=tmp_path)
    assert time.perf_counter() - start < 5


def test_unknown_models_and_tags_are_named():
    with pytest.raises(ValueError, match="Unknown open_clip model 'ViT-Q-99'"):
        load_pretrained_clip("ViT-Q-99", tag="openai")
    with pytest.raises(ValueError, match="no pretrained weights 'nope'.*openai"):
        load_pretrained_clip("ViT-B-32", tag="nope")
    with pytest.raises(ValueError, match="weights file or a pretrained tag"):
        load_pretrained_clip("ViT-B-32")


def test_a_cached_file_is_found_in_the_hugging_face_layout(tmp_path):
    repo = tmp_path / "models--timm--vit_base_patch32_clip_224.openai"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    assert cached_weights("ViT-B-32", "openai", tmp_path) is None
    (snapshot / "open_clip_pytorch_model.bin").write_bytes(b"weights")
    assert cached_weights("ViT-B-32", "openai", tmp_path) == snapshot / "open_clip_pytorch_model.bin"


def test_weights_from_a_local_file_load_offline(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(3)
    # A pretrained open_clip model reads the whole BPE vocabulary (no compact table).
    trained = build_recipe_clip(dataclasses.replace(TINY, name="clip-tiny-bpe", vocabulary_size=0)).eval()
    path = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in trained.clip.state_dict().items()}, str(path))
    loaded = load_pretrained_clip(trained.name, path)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert loaded.encode_images(x) == pytest.approx(trained.encode_images(x), abs=1e-5)
        assert loaded.encode_texts(["a red circle"]) == pytest.approx(trained.encode_texts(["a red circle"]), abs=1e-5)
    assert loaded.source == f"file {path}"


def test_the_align_command_refuses_missing_weights_before_loading_any_model(tmp_path, capsys):
    from interp_core.cli.main import main

    start = time.perf_counter()
    code = main(["align", "qsenn-shapes", "--clip-model", "ViT-B-32", "--clip-weights", str(tmp_path / "nope.bin"), "--json"])
    assert code == 2 and time.perf_counter() - start < 10
    err = capsys.readouterr().err
    assert "nope.bin" in err and "does not exist" in err
