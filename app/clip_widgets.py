"""The widget that chooses which CLIP-like model names features (Q-SENN's naming, the align command's)."""
from __future__ import annotations

import streamlit as st

DEFAULT_CLIP = ("clip-shapes", None, None, None)


def clip_picker(key: str) -> tuple:
    """``(recipe, open_clip architecture, weights file, pretrained tag)``: our ``clip-shapes`` by default, or a
    pretrained open_clip model whose weights are on this machine; an incomplete choice is shown as an error
    and the default is used."""
    from interp_core.methods.qsenn.naming import ClipChoice

    with st.expander("Which CLIP model names the features"):
        st.caption("Default: `clip-shapes`, trained by our recipe on the shapes captions. A pretrained open_clip model is "
                   "used instead when its weights are a local file, or are in the local Hugging Face cache (nothing downloads).")
        arch = st.text_input("open_clip architecture (e.g. ViT-B-32)", key=f"{key}-model").strip()
        weights = st.text_input("Local weights file", key=f"{key}-weights").strip()
        tag = st.text_input("…or a pretrained tag in the local cache (e.g. openai)", key=f"{key}-tag").strip()
    clip = ("clip-shapes", arch or None, weights or None, tag or None)
    try:
        ClipChoice(*clip)
    except ValueError as err:
        st.error(str(err))
        return DEFAULT_CLIP
    return clip
