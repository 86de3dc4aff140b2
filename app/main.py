"""Dashboard entry point: ``streamlit run app/main.py``.

Streamlit only auto-discovers ``pages/`` next to the entry script, so the views registered in
``interp_core.views`` are turned into ``st.Page`` entries here, one file ``pages/<view>.py`` each. The first
run in a server process starts the warm-up of every view's default selection (``app.warmup``); Streamlit
runs no app code before a browser connects, so that first visit is its start.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import warmup  # noqa: E402
from app.shell import PAGE_ICON, existing_views  # noqa: E402
from interp_core.runtime import retain_freed_memory  # noqa: E402

retain_freed_memory()  # training started from the dashboard reuses freed memory like the CLI's

# A local file: a material icon as page icon is fetched from the internet on every load.
st.set_page_config(page_title="interp-core · explanation explorer", page_icon=str(PAGE_ICON), layout="wide")

menu = existing_views()
sections = {
    section: [st.Page(ROOT / "pages" / f"{view.page}.py", title=view.title, icon=view.icon, default=(view.page == "home"),
                      url_path=view.page)
              for view in views]
    for section, views in menu.items()
}
page = st.navigation(sections)
warmup.start([view for views in menu.values() for view in views])
warmup.show_note(page.url_path or "home")  # the default page's path is ""
with warmup.visit():
    page.run()
