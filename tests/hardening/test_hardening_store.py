"""Adversarial model-store files (issue 12): special files, sparse giants, deeply nested metadata.

Each gets CheckpointError (or, for the catalog, a fallback to the shipped copy) within 2 s and 200 MB
in a limited child process."""
from __future__ import annotations

import json
import os

import pytest

from tests.hardening import corpus
from tests.hardening.worker import loaded, refused

CHECKPOINT_ERROR = "interp_core.store.checkpoint.CheckpointError"


def _metadata(stem, **fields) -> None:
    (stem.parent / f"{stem.name}.json").write_text(json.dumps({"weights_sha256": "0" * 64, **fields}))


def test_weights_symlinked_to_an_endless_device_are_never_hashed(worker, tmp_path):
    stem = tmp_path / "m"
    _metadata(stem)  # no recorded size: only the regular-file check stands between us and /dev/zero
    os.symlink("/dev/zero", tmp_path / "m.safetensors")
    refused(worker.call("load_checkpoint", stem=str(stem)), CHECKPOINT_ERROR, "character device")


def test_huge_sparse_weights_are_refused_before_hashing(worker, tmp_path):
    stem = tmp_path / "m"
    size = 3 * 1024**3
    _metadata(stem, weights_bytes=size)  # the recorded size agrees: only the limit refuses it
    corpus.sparse_file(tmp_path / "m.safetensors", b"", size)
    refused(worker.call("load_checkpoint", stem=str(stem)), CHECKPOINT_ERROR, "checkpoints are limited to 2048 MB")


@pytest.mark.parametrize("special", ["fifo", "loop"])
def test_state_file_that_is_a_pipe_or_a_link_loop_is_refused(worker, tmp_path, special):
    path = tmp_path / "w.pt"
    if special == "fifo":
        corpus.mkfifo(path)
        needle = "named pipe"
    else:
        os.symlink("v.pt", path)
        os.symlink("w.pt", tmp_path / "v.pt")
        needle = "symbolic link loop"
    refused(worker.call("load_state_file", path=str(path)), CHECKPOINT_ERROR, needle)


def test_metadata_that_is_a_named_pipe_is_refused(worker, tmp_path):
    corpus.mkfifo(tmp_path / "m.json")
    refused(worker.call("read_metadata", stem=str(tmp_path / "m")), CHECKPOINT_ERROR, "named pipe")


def test_deeply_nested_metadata_is_refused_without_recursion_error(worker, tmp_path):
    (tmp_path / "m.json").write_bytes(corpus.nested_json())
    refused(worker.call("read_metadata", stem=str(tmp_path / "m")), CHECKPOINT_ERROR, "levels deep")


def test_catalog_falls_back_to_the_shipped_copy_when_cache_metadata_is_corrupt(worker, tmp_path):
    from interp_core.store.catalog import checkpoint_stems
    from interp_core.store.recipes import get_recipe

    home = tmp_path / "home"
    stem_name = checkpoint_stems(get_recipe("cnn-digits"))["cache"].name
    models = home / "models"
    models.mkdir(parents=True)
    (models / f"{stem_name}.json").write_bytes(corpus.nested_json())
    result = loaded(worker.call("catalog", home=str(home), recipe="cnn-digits"))
    assert result["status"] == "shipped" and result["has_meta"], result
    assert result["fingerprint"] not in ("missing", "unreadable")
