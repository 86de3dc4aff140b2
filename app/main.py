"""Dashboard entry point: ``streamlit run app/main.py``.

Streamlit only auto-discovers ``pages/`` next to the entry script, so the views registered in
``interp_core.views`` are turned into ``st.Page`` entries here, one file ``pages/<view>.py`` each.

``streamlit run`` finds the ASGI app ``app`` below (Streamlit's ``st.App``) and serves this same file as the
script of every page run through it; its lifespan starts the warm-up of every view's default selection
(``app.warmup``) when the server starts, before any browser connects, and its middleware tells the warm-up when a
browser is at work. A page run also starts it (once per server process), for a script run without the server's app
(``AppTest``).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import warmup  # noqa: E402
from app.report import charts_switch  # noqa: E402
from app.shell import PAGE_ICON, existing_views  # noqa: E402


def run_page() -> None:
    """One page run: the menu, the chosen view, the warm-up's note on it."""
    from interp_core.runtime import retain_freed_memory

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
    charts_switch()
    warmup.start([view for views in menu.values() for view in views])
    warmup.show_note(page.url_path or "home")  # the default page's path is ""
    with warmup.visit():
        page.run()


if __name__ == "__main__":  # a page run: Streamlit runs the script as __main__
    run_page()
else:  # imported by `streamlit run`, which serves this ASGI app with uvicorn
    from starlette.middleware import Middleware

    app = st.App(__file__, lifespan=warmup.at_server_start, middleware=[Middleware(warmup.BrowserActivity)])
