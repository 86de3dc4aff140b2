"""Dashboard checks of issue 12, run as ``python -m tests.hardening.dashboard_child MODE`` in a child
process (a fresh Streamlit cache and its own ``INTERP_CORE_HOME``); prints one JSON line.

``upload``: the Data page gets an upload of one bad file (a JPEG with thousands of scans under a
Markdown-laden name), shows the message, and stays usable. ``home``: Home with corrupt (deeply nested)
cache metadata shows the model table from the shipped copies and the device, with no error at all.
``home-failing``: a store that raises gives one message on Home, and the device is still shown
(run last: it replaces a catalog function for the rest of the process).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "app"))


def upload() -> dict:
    from page_runner import open_page

    from tests.hardening import corpus

    at = open_page("data", timeout=120)
    at.radio(key="data-try-source").set_value("Upload").run()
    name = "# big\n[x](http://e) $x$ " + "n" * 3000 + ".jpg"
    start = time.perf_counter()
    at.file_uploader(key="data-try-upload").set_value((name, corpus.many_scans_jpeg(), "image/jpeg")).run()
    seconds = time.perf_counter() - start
    errors = [e.value for e in at.error]
    exceptions = [e.value for e in at.exception]
    at.radio(key="data-try-source").set_value("Gallery").run()
    return {"errors": errors, "exceptions": exceptions, "seconds": seconds,
            "after": {"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception]}}


def home() -> dict:
    from page_runner import open_page

    from interp_core.store.catalog import checkpoint_stems
    from interp_core.store.recipes import all_recipes

    from tests.hardening import corpus

    for recipe in all_recipes().values():
        cache = checkpoint_stems(recipe)["cache"]
        cache.parent.mkdir(parents=True, exist_ok=True)
        (cache.parent / f"{cache.name}.json").write_bytes(corpus.nested_json(50_000))
    at = open_page(None, timeout=120)
    frame = at.dataframe[0].value
    return {"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception],
            "status": dict(zip(frame["model"], frame["status"])),
            "device": any(m.label == "Device" for m in at.metric)}


def home_failing() -> dict:
    """Reading the store raises inside Home's guarded block: one message, and the rest of Home (the
    device) still renders, with no second error from a name the failed block never set."""
    from page_runner import open_page

    import interp_core.store.catalog as catalog

    def broken(name: str) -> str:
        raise RuntimeError("store unreadable")

    catalog.code_status = broken
    at = open_page(None, timeout=120)
    return {"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception],
            "device": any(m.label == "Device" for m in at.metric)}


MODES = {"upload": upload, "home": home, "home-failing": home_failing}


if __name__ == "__main__":
    # Several modes in one process (one start-up), with Streamlit's caches cleared between them.
    import streamlit as st

    results = {}
    for mode in sys.argv[1:]:
        st.cache_data.clear()
        st.cache_resource.clear()
        results[mode] = MODES[mode]()
    print(json.dumps(results))
