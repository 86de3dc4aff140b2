"""Automatic device choice: cuda > mps > cpu, overridable by argument or ``$INTERP_CORE_DEVICE``."""
from __future__ import annotations

import os

import torch


def choose_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return ``preferred`` if given (validated), else the best available device.

    Raises ``ValueError`` with a clear message when a requested device is not available.
    """
    preferred = preferred or os.environ.get("INTERP_CORE_DEVICE") or None
    if preferred in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(preferred)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"Device {preferred!r} requested but CUDA is not available on this machine.")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"Device {preferred!r} requested but Apple MPS is not available on this machine.")
    return device


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
