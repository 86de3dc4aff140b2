"""The store never unpickles arbitrary objects and refuses truncated or tampered checkpoints."""
from __future__ import annotations

import os
import pickle

import pytest
import torch

from interp_core.store.checkpoint import CheckpointError, load_checkpoint, load_state_file, save_checkpoint


class _Exploit:
    """Unpickling this runs os.system — a real malicious pickle payload."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def state():
    torch.manual_seed(0)
    return {"w": torch.randn(4, 3), "b": torch.arange(4, dtype=torch.float32)}


def test_round_trip_preserves_tensors_and_metadata(tmp_path, state):
    save_checkpoint(tmp_path / "m", state, {"recipe": {"name": "x"}})
    loaded, meta = load_checkpoint(tmp_path / "m")
    assert meta["recipe"]["name"] == "x"
    assert set(loaded) == {"w", "b"}
    assert torch.equal(loaded["w"], state["w"]) and torch.equal(loaded["b"], state["b"])


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_malicious_pickle_is_refused_and_never_executed(tmp_path, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil{suffix}"
    with open(path, "wb") as fh:
        pickle.dump({"w": _Exploit(str(marker))}, fh)
    with pytest.raises(CheckpointError, match="refused for safety"):
        load_state_file(path)
    assert not marker.exists(), "the pickle payload ran"


def test_pickle_disguised_as_safetensors_is_refused(tmp_path, state):
    marker = tmp_path / "pwned"
    save_checkpoint(tmp_path / "m", state, {})
    with open(tmp_path / "m.safetensors", "wb") as fh:
        pickle.dump(_Exploit(str(marker)), fh)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "m")
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_state_file(tmp_path / "m.safetensors")
    assert not marker.exists()


def test_truncated_weights_are_refused(tmp_path, state):
    save_checkpoint(tmp_path / "m", state, {})
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(tmp_path / "m")


def test_tampered_weights_same_size_are_refused(tmp_path, state):
    save_checkpoint(tmp_path / "m", state, {})
    data = bytearray((tmp_path / "m.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "m.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(tmp_path / "m")


def test_plain_state_dict_pt_file_loads(tmp_path, state):
    torch.save(state, tmp_path / "ok.pt")
    loaded = load_state_file(tmp_path / "ok.pt")
    assert torch.equal(loaded["w"], state["w"])


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"garbage bytes", "not a readable"), (None, "does not exist")])
def test_bad_pt_files_get_clear_messages(tmp_path, content, match):
    path = tmp_path / "bad.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load_state_file(path)


def test_metadata_without_checksum_is_refused(tmp_path, state):
    save_checkpoint(tmp_path / "m", state, {})
    (tmp_path / "m.json").write_text('{"recipe": {}}')
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(tmp_path / "m")
