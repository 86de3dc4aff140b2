"""The device the dashboard will use, named without importing torch (Home's first render; about 1.5 s saved).

Kept apart from :mod:`interp_core.device`, whose definitions every checkpoint's provenance records."""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

#: Where the NVIDIA driver lists its GPUs (Linux), one folder each with an ``information`` file.
NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


def _torch_build_has_cuda() -> bool:
    """Whether the installed torch was built with CUDA, read from its ``version.py`` (not imported)."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return False
    try:
        text = (Path(spec.origin).parent / "version.py").read_text()
    except OSError:
        return False
    return re.search(r"^cuda\s*(?::[^=\n]*)?=\s*['\"]", text, re.MULTILINE) is not None


def device_label(gpus: Path = NVIDIA_GPUS) -> str:
    """The device :func:`interp_core.device.choose_device` picks, described: by
    :func:`~interp_core.device.describe_device` once torch is imported (or a device is requested by
    ``$INTERP_CORE_DEVICE``); before that without importing it, from torch's build record and the NVIDIA
    driver's GPU list: ``cuda (NAME)``, ``mps``, or ``cpu (N cores)`` (the cores this process may use;
    torch's thread count is known once it is imported)."""
    if "torch" in sys.modules or os.environ.get("INTERP_CORE_DEVICE", "auto") not in ("", "auto"):
        from interp_core.device import choose_device, describe_device

        return describe_device(choose_device())
    if _torch_build_has_cuda() and gpus.is_dir():
        for information in sorted(gpus.glob("*/information")):
            model = next((line.split(":", 1)[1].strip() for line in information.read_text(errors="replace").splitlines()
                          if line.startswith("Model:")), None)
            if model:
                return f"cuda ({model})"
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return "mps"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"cpu ({cores} cores)"
