"""Test-wide settings: offline hubs, a private cache folder, fixed thread count."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("INTERP_CORE_HOME", str(REPO / ".cache" / "test-home"))
os.environ.setdefault("TQDM_DISABLE", "1")
