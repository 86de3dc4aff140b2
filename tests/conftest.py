"""Test-wide settings: offline hubs, a private cache folder, fixed thread count, no dashboard warm-up (a test
that wants it turns it on)."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("INTERP_CORE_HOME", str(REPO / ".cache" / "test-home"))
os.environ.setdefault("TQDM_DISABLE", "1")
# The dashboard's background warm-up would compete with every page test for the CPU (tests/app/test_warmup.py).
os.environ.setdefault("INTERP_CORE_WARMUP", "0")
