"""Process-level settings that change how fast interp_core runs, never what it computes (torch-free).

:func:`retain_freed_memory` keeps the memory of freed tensors in the process for the next allocation.
glibc's ``malloc`` serves large blocks (a training batch's activations and gradients, megabytes each)
with ``mmap`` and returns them to the operating system on ``free``; every training step then faults
fresh pages in and has the kernel zero them, which on a 2-core machine costs about a tenth of a B-cos
training step and a few percent of a plain CNN's (measured with ``bench bcos``: B-cos layer
forward+backward 1.35-1.42x ``nn.Conv2d`` with the default allocator, 1.16x with this setting, the
convolution itself also faster). PyTorch's CPU performance guides recommend the same (or tcmalloc /
jemalloc). The ``python -m interp_core`` commands, the benchmark harness and the dashboard call it once;
``INTERP_CORE_MALLOC_TUNING=0`` leaves the allocator alone. Elsewhere than Linux with glibc it does nothing.
"""
from __future__ import annotations

import os

#: mallopt parameters (glibc malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: Blocks below this come from the heap and are reused (glibc's ceiling for the mmap threshold on 64-bit).
MMAP_THRESHOLD = 32 << 20
#: Freed memory at the top of the heap kept before any is handed back, and the extra asked for each time.
TRIM_THRESHOLD = 512 << 20
TOP_PAD = 64 << 20

_STATE: dict[str, str] = {}


def retain_freed_memory() -> str:
    """Tune glibc ``malloc`` once per process (see module docstring). Returns ``"on"``, ``"off"`` (switched
    off by ``INTERP_CORE_MALLOC_TUNING=0``) or ``"unavailable"`` (not glibc)."""
    if "state" in _STATE:
        return _STATE["state"]
    if os.environ.get("INTERP_CORE_MALLOC_TUNING", "1").lower() in ("0", "false", "no", "off"):
        state = "off"
    else:
        state = "unavailable"
        try:
            import ctypes
            import platform

            if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
                libc = ctypes.CDLL("libc.so.6")
                ok = all(libc.mallopt(param, value) == 1 for param, value in (
                    (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD)))
                state = "on" if ok else "unavailable"
        except (OSError, AttributeError):
            state = "unavailable"
    _STATE["state"] = state
    return state


def malloc_tuning_state() -> str:
    """What :func:`retain_freed_memory` did in this process, ``"unused"`` if it was not called."""
    return _STATE.get("state", "unused")
