"""UI glue shared by the Studies pages: the study store, stored stimuli, and the study lead's sign-in."""
from __future__ import annotations

import time

import streamlit as st


@st.cache_resource(show_spinner=False)
def _store(url: str):
    from interp_core.study.storage import open_store

    return open_store(url)


def study_store():
    """The one store of the configured database (``INTERP_CORE_STUDY_URL`` or the cache's SQLite file)."""
    from interp_core.study.config import database_url

    return _store(database_url())


@st.cache_data(show_spinner=False, max_entries=512)
def _stimulus(url: str, study_id: str, key: str) -> bytes:
    return _store(url).stimulus(study_id, key)[1]


def stimulus_bytes(study_id: str, key: str) -> bytes:
    """A stored stimulus file (never changes once the study is made, so caching by key is safe)."""
    from interp_core.study.config import database_url

    return _stimulus(database_url(), study_id, key)


def _secrets_section() -> dict:
    try:
        return dict(st.secrets.get("study", {}))
    except Exception:  # no secrets.toml at all is the usual case
        return {}


def lead_signed_in() -> bool:
    """Whether the study lead has signed in during this browser session; shows the sign-in form if not.
    The password is checked against the salted hash in configuration, never stored."""
    from interp_core.study.config import StudyConfigError, lead_password_hash, verify_password

    if st.session_state.get("study-lead"):
        return True
    with st.form("study-lead-sign-in"):
        password = st.text_input("Study lead password", type="password", key="study-lead-password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            if verify_password(password, lead_password_hash(_secrets_section())):
                st.session_state["study-lead"] = True
                st.rerun()
            time.sleep(1)  # slows down guessing; scrypt already costs every try some 50 ms
            st.error("Wrong password.")
        except StudyConfigError as err:
            st.error(str(err))
    return False
