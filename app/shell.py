"""The dashboard's shell: navigation, clear errors instead of tracebacks, widget state kept across runs."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Iterator

import streamlit as st

log = logging.getLogger("interp_core.app")


def show_error(message: str) -> None:
    """``st.error`` of a plain-text library message, escaped so that nothing in it (a file name with
    ``#``, ``[link](...)``, ``$LaTeX$`` or HTML) renders as Markdown, and shortened if very long."""
    from interp_core.guards import markdown_escape, shorten

    st.error(markdown_escape(shorten(message, 600)))


#: The dashboard's page icon, a local file (nothing is fetched from the internet).
PAGE_ICON = Path(__file__).resolve().parent.parent / "assets" / "icon.png"
PAGES = Path(__file__).resolve().parent.parent / "pages"


def navigation():
    """The dashboard's menu: every registered view (``interp_core.views``) by section."""
    from interp_core.views import navigation as views_by_section

    return views_by_section()


def existing_views(pages: Path = PAGES):
    """The registered views whose page file ``pages/<view>.py`` exists, by section (sections without any
    left out): what the menu offers and what Home lists."""
    out = {section: [v for v in views if (pages / f"{v.page}.py").exists()] for section, views in navigation().items()}
    return {section: views for section, views in out.items() if views}


@contextlib.contextmanager
def guarded(what: str) -> Iterator[None]:
    """Show any failure inside the block as a clear message instead of a traceback page."""
    try:
        yield
    except Exception as err:  # the app must keep running whatever the library raises
        log.exception("%s failed", what)
        show_error(f"{what} failed: {err}")


def keep_widget_state(*prefixes: str) -> None:
    """Keep the values of the widgets whose keys start with ``prefixes`` across runs that do not draw them.

    Streamlit drops a widget's value on a run that skips the widget (e.g. while an upload is awaited), and
    the browser then shows the widget's default while the server computes with another value. Writing
    the value back to ``st.session_state`` marks it as the page's own, so it survives and is sent to the
    browser when the widget is drawn again."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(prefixes):
            st.session_state[key] = st.session_state[key]
