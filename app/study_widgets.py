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


def open_participant(study_id: str, params: dict[str, str]):
    """The participant of this browser session, opened once from the link's query ``params`` (a personal
    ``token``, or the platform link's ``entry`` and platform ids); None, with the reason shown, when the
    link is missing, wrong, closed or the study is full."""
    from interp_core.study.errors import StudyError
    from interp_core.study.runner import ParticipantSession

    token, entry = params.get("token", ""), params.get("entry", "")
    if not study_id or not (token or entry):
        st.title("Study session")
        st.info("This page is opened through the participant link you received (it carries the study and your personal token).")
        return None
    state_key = "study-session:" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    session = st.session_state.get(state_key)
    if session is None:
        client = st.context.headers.get("User-Agent", "") or "dashboard"
        try:
            if token:
                session = ParticipantSession.open(study_store(), study_id, token, client=client)
            else:
                session = ParticipantSession.open_platform(study_store(), study_id, entry, params, client=client)
        except StudyError as err:
            st.title("Study session")
            st.error(str(err))
            return None
        st.session_state[state_key] = session
    return session


def sound_player(session, study_id: str, key: str, label: str, widget: str) -> None:
    """A play button: once pressed, the player appears and the listening time starts."""
    if session.has_played(key):
        st.audio(stimulus_bytes(study_id, key), format="audio/wav", autoplay=True)
    elif st.button(f"▶ Play {label}", key=widget):
        session.played(key)
        st.rerun()


def completion_page(completion) -> None:
    """The last page: thanks, the code to hand to the platform, and the way back to it (a button, and a
    redirect after a few seconds)."""
    from html import escape

    if completion.screened_out:
        st.info("Thank you for your time. This study needs conditions that were not met here "
                f"({completion.reason}), so it ends now; no rating of yours was stored.")
    else:
        st.success("Thank you! You have answered every item; your answers are saved. You can close this page.")
    if completion.code:
        st.markdown("Your " + ("code" if completion.screened_out else "completion code") + " for the recruiting platform:")
        st.code(completion.code, language=None)
    if completion.redirect:
        st.link_button("Return to the platform", completion.redirect, type="primary")
        st.caption("You will be taken back to the platform in a few seconds.")
        st.markdown(f'<meta http-equiv="refresh" content="4; url={escape(completion.redirect, quote=True)}">', unsafe_allow_html=True)


def quality_form(condition_labels: list[str], sounds: bool):
    """The designer's quality-control settings: qualification questions, headphone check (studies with
    sounds), gold items, trapping items, exclusion rules; returns a :class:`~interp_core.study.quality.QualityControl`."""
    from interp_core.study.quality import ExclusionRules, GoldItem, QualificationQuestion, QualityControl

    with st.expander("Quality control (crowdsourcing)"):
        st.caption("One question per line: `question | option 1 | option 2 | ... | accepted option numbers` (e.g. "
                   "`What is 2 + 3? | 4 | 5 | 6 | 2`). Answered right after consent; a participant below the pass mark is "
                   "screened out and gets the screened-out code.")
        lines = st.text_area("Qualification questions", "", key="design-qualification")
        questions = []
        for line in (x for x in lines.splitlines() if x.strip()):
            *head, accept = [p.strip() for p in line.split("|")]
            questions.append(QualificationQuestion(head[0] if head else "", tuple(head[1:]),
                                                   tuple(int(a) for a in accept.replace(",", " ").split() if a.isdigit())))
        c1, c2, c3 = st.columns(3)
        min_correct = c1.number_input("Right answers needed (0: all)", 0, 20, 0, key="design-qualification-min")
        headphones = c2.checkbox("Headphone check (Woods et al. 2017: 6 trials, ≥ 5 right)", sounds, key="design-headphones",
                                 disabled=not sounds, help="Only for studies with sounds.")
        traps = c3.number_input("Trapping items (instruction inside the picture)", 0, 20, 0, key="design-traps")
        st.caption("Gold items: an interpretation whose rating you know, `input number | method number | expected 1-5 | "
                   "tolerance`, one per line (numbers from 0, in the order chosen above: "
                   + ", ".join(f"{n} {label}" for n, label in enumerate(condition_labels)) + ").")
        gold_lines = st.text_area("Gold items", "", key="design-gold")
        try:
            gold = tuple(GoldItem(*[int(x) for x in line.split("|")]) for line in gold_lines.splitlines() if line.strip())
        except (TypeError, ValueError):
            st.error("A gold item is four whole numbers separated by |: input | method | expected rating | tolerance.")
            gold = ()
        st.markdown("**Exclusion rules** (failed checks allowed before a participant is left out of the results; -1: never)")
        c1, c2, c3, c4 = st.columns(4)
        rules = ExclusionRules(int(c1.number_input("Attention", -1, 20, 0, key="design-rule-attention")),
                               int(c2.number_input("Gold", -1, 20, 0, key="design-rule-gold")),
                               int(c3.number_input("Trap", -1, 20, 0, key="design-rule-trap")),
                               c4.checkbox("Leave out unfinished", True, key="design-rule-incomplete"))
    return QualityControl(tuple(questions), int(min_correct), bool(headphones and sounds), gold, int(traps), rules)


def recruitment_panel(store, study_id: str, current: dict | None) -> None:
    """Open (or close to newcomers) the study's one link for Prolific or MTurk, and show it."""
    from interp_core.study.errors import StudyError
    from interp_core.study.recruitment import PROLIFIC_COMPLETION_URL, Recruitment, platform_link

    with st.form(f"recruit-{study_id}"):
        st.markdown("**Platform link** (Prolific or MTurk: one link for everybody; the platform's ids are the participant)")
        c1, c2, c3 = st.columns(3)
        platform = c1.selectbox("Platform", ["prolific", "mturk"], key="recruit-platform")
        code = c2.text_input("Completion code", (current or {}).get("completion_code", ""), key="recruit-code")
        out_code = c3.text_input("Screened-out code", (current or {}).get("screened_out_code", ""), key="recruit-out-code")
        c1, c2 = st.columns([1, 3])
        cap = c1.number_input("Cap (0: none)", 0, 100000, int((current or {}).get("cap", 0)), key="recruit-cap")
        url = c2.text_input("Completion URL ({code} is filled in)", (current or {}).get("completion_url", PROLIFIC_COMPLETION_URL),
                            key="recruit-url")
        if st.form_submit_button("Open the platform link"):
            try:
                recruitment = Recruitment(platform, code.strip(), out_code.strip(), int(cap), url.strip())
                recruitment.validate()
                store.set_recruitment(study_id, recruitment.to_dict())
                current = recruitment.to_dict()
            except StudyError as err:
                st.error(str(err))
    if current:
        state = "open" if current.get("open", True) else "closed to newcomers"
        st.code(platform_link(study_id, current["platform"]), language=None)
        st.caption(f"{current['platform']} link, {state}; cap {current.get('cap') or 'none'}. Paste it as the study URL on the platform.")
        if current.get("open", True) and st.button("Close the platform link to newcomers", key="recruit-close"):
            store.set_recruitment(study_id, {**current, "open": False})
            st.rerun()
