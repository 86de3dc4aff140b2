"""Safe, atomic checkpoint files: ``<stem>.safetensors`` (plain tensors) + ``<stem>.json`` (metadata).

Nothing is ever unpickled: weights are safetensors, and user-supplied ``.pt``/``.pth`` files are read with
``torch.load(weights_only=True)``, which refuses arbitrary objects. The metadata records the SHA-256 of
the weights file, so a truncated or tampered checkpoint is refused with a clear message.

Files are read through :mod:`interp_core.guards`: only regular files (a symlink to ``/dev/zero`` or a
named pipe is refused from its ``stat``, never hashed), the size is checked against
:data:`MAX_CHECKPOINT_BYTES` and the recorded size before hashing, and metadata JSON nested deeper
than :data:`interp_core.guards.MAX_JSON_DEPTH` is refused (no ``RecursionError``).
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from interp_core import guards
from interp_core.io import atomic_write
from interp_core.paths import with_ext

MAX_CHECKPOINT_BYTES = 2 * 1024**3


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated, tampered with, or not a plain-tensor file."""


def _sha256(path: Path) -> str:
    try:
        return guards.sha256_file(path, MAX_CHECKPOINT_BYTES, "checkpoints")
    except guards.GuardError as err:
        raise CheckpointError(str(err)) from None


def _regular_size(path: Path, refused: str) -> int:
    """Size in bytes of ``path`` if it is a regular file within :data:`MAX_CHECKPOINT_BYTES`, else a
    :class:`CheckpointError` that starts with ``refused``."""
    try:
        return guards.regular_file(path, MAX_CHECKPOINT_BYTES, "checkpoints").st_size
    except guards.GuardError as err:
        raise CheckpointError(f"{refused}: {err}") from None


def cpu_kernels() -> str:
    """The CPU instruction set torch's kernels run on here (``AVX512``, ``AVX2``...). float32 training gives
    the same weights on two machines only when this matches: the vectorised reductions sum in another order."""
    return str(torch.backends.cpu.get_cpu_capability())


def save_checkpoint(stem: Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Write weights then metadata, each atomically; the metadata (written last) marks completeness.
    Returns the metadata as written (with the weights' SHA-256 and size)."""
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    blob = save(tensors)
    stem = Path(stem)
    weights = with_ext(stem, ".safetensors")
    atomic_write(weights, blob, fsync=True)
    meta = dict(meta, weights_sha256=hashlib.sha256(blob).hexdigest(), weights_bytes=len(blob))
    meta.setdefault("cpu_kernels", cpu_kernels())
    atomic_write(with_ext(stem, ".json"), json.dumps(meta, indent=2, sort_keys=True, default=str), fsync=True)
    return meta


def read_metadata(stem: Path) -> dict[str, Any]:
    path = with_ext(stem, ".json")
    if not os.path.lexists(path):
        raise CheckpointError(f"No metadata file {path}.")
    try:
        meta = guards.read_json(path)
    except guards.GuardError as err:
        raise CheckpointError(f"Metadata file {path} is unreadable or not JSON ({err}).") from None
    if not isinstance(meta, dict) or "weights_sha256" not in meta:
        raise CheckpointError(f"Metadata file {path} lacks the weights checksum; refusing to trust it.")
    return meta


def load_checkpoint(stem: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Verify and load a checkpoint written by :func:`save_checkpoint`. Raises :class:`CheckpointError`."""
    stem = Path(stem)
    meta = read_metadata(stem)
    weights = with_ext(stem, ".safetensors")
    if not os.path.lexists(weights):
        raise CheckpointError(f"Weights file {weights} is missing.")
    size = _regular_size(weights, "Weights file refused")
    if size != meta.get("weights_bytes", size):
        raise CheckpointError(f"Weights file {weights} is truncated or altered ({size} bytes, expected {meta['weights_bytes']}).")
    if _sha256(weights) != meta["weights_sha256"]:
        raise CheckpointError(f"Weights file {weights} does not match its recorded checksum: corrupted or tampered; refusing to load.")
    return load_state_file(weights), meta


def load_state_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a state dict of plain tensors from ``.safetensors`` or ``.pt``/``.pth`` (never unpickling
    arbitrary objects). Raises :class:`CheckpointError` with the reason for anything else."""
    path = Path(path)
    if not os.path.lexists(path):
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    size = _regular_size(path, "Checkpoint refused")
    if size == 0:
        raise CheckpointError(f"Checkpoint {path} is empty (0 bytes).")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{path} is not a valid safetensors file ({err}).") from None
    if path.suffix in (".pt", ".pth", ".bin", ".ckpt"):
        import pickle

        with guards.open_regular(path, MAX_CHECKPOINT_BYTES, "checkpoints") as (fh, _):
            head = fh.read(4)
        if head != b"PK\x03\x04" and head[:1] != b"\x80":  # neither torch's zip format nor a pickle
            raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (unknown file format).")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # pickle-protocol notices; we refuse or accept anyway
                state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            # torch's message suggests weights_only=False; keep only the reason, never that advice.
            reason = str(err).split("WeightsUnpickler error:")[-1].strip().splitlines()
            reason = reason[0] if reason and "WeightsUnpickler" in str(err) else "it holds objects other than tensors"
            raise CheckpointError(
                f"{path} contains objects other than plain tensors and was refused for safety ({reason[:160]}). "
                "Save a state_dict (or a safetensors file) instead."
            ) from None
        except (RuntimeError, EOFError, OSError, ValueError) as err:
            raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({str(err)[:200]}).") from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise CheckpointError(f"{path} does not hold a flat dict of tensors (a state_dict).")
        return state
    raise CheckpointError(f"Unsupported checkpoint type {path.suffix!r}; use .safetensors, .pt or .pth.")
