"""Dashboard entry point: ``streamlit run app/main.py``.

Streamlit only auto-discovers ``pages/`` next to the entry script, so the top-level ``pages/`` views are
registered here explicitly with ``st.Page``/``st.navigation``.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.components import NAVIGATION  # noqa: E402

st.set_page_config(page_title="interp-core · explanation explorer", page_icon=":material/search_insights:", layout="wide")

sections = {
    section: [st.Page(ROOT / "pages" / f"{stem}.py", title=title, icon=icon, default=(stem == "home"), url_path=stem)
              for stem, title, icon in pages if (ROOT / "pages" / f"{stem}.py").exists()]
    for section, pages in NAVIGATION.items()
}
st.navigation({k: v for k, v in sections.items() if v}).run()
