"""Study session: what a participant sees, opened by their link (``?study=ID&token=TOKEN``).

Consent first; then one screen per item in the participant's own order, methods under neutral letters;
every answer is saved the moment it is chosen and cannot be changed; a reload or another browser
continues at the first unanswered item. Sounds must be played (to their end) before answering.
"""
from datetime import datetime, timezone

import streamlit as st

from app.study_widgets import stimulus_bytes, study_store
from interp_core.study.errors import DuplicateAnswerError, StudyError
from interp_core.study.runner import ParticipantSession

# Participants need no menu of the researcher's views.
st.html("<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'] {display: none}</style>")

study_id, token = st.query_params.get("study", ""), st.query_params.get("token", "")
if not study_id or not token:
    st.title("Study session")
    st.info("This page is opened through the participant link you received (it carries the study and your personal token).")
    st.stop()

state_key = f"study-session:{study_id}:{token}"
session: ParticipantSession | None = st.session_state.get(state_key)
if session is None:
    try:
        session = ParticipantSession.open(study_store(), study_id, token, client=st.context.headers.get("User-Agent", "") or "dashboard")
    except StudyError as err:
        st.title("Study session")
        st.error(str(err))
        st.stop()
    st.session_state[state_key] = session

st.title(session.study["name"])
message = st.session_state.pop("study-message", None)
if message:
    st.warning(message)

if not session.consented:
    st.markdown(session.study["instructions"])
    st.subheader("Consent")
    st.markdown(session.study["consent"])
    if st.button("I agree and want to take part", type="primary", key="study-consent"):
        try:
            session.consent()
        except StudyError as err:
            st.error(str(err))
            st.stop()
        st.rerun()
    st.caption("If you do not agree, simply close this page: nothing about you has been stored.")
    st.stop()

screen = session.screen()
if screen is None:
    st.success("Thank you! You have answered every item; your answers are saved. You can close this page.")
    st.stop()

done, total = session.progress
st.progress(done / total, text=f"Item {screen.position + 1} of {total}")
shown_key = f"study-shown:{screen.item_id}"
shown_at = st.session_state.setdefault(shown_key, datetime.now(timezone.utc))


def sound_player(key: str, label: str) -> None:
    """A play button: once pressed, the player appears and the listening time starts."""
    if session.has_played(key):
        st.audio(stimulus_bytes(study_id, key), format="audio/wav", autoplay=True)
    elif st.button(f"▶ Play {label}", key=f"play:{screen.item_id}:{key}"):
        session.played(key)
        st.rerun()


def commit(part: int, widget: str) -> None:
    value = st.session_state.get(widget)
    if value is None:
        return
    try:
        session.answer(screen.item_id, part, int(value), shown_at)
    except DuplicateAnswerError as err:
        st.session_state["study-message"] = str(err)
    except StudyError as err:
        st.session_state["study-message"] = str(err)
        st.session_state[widget] = None  # nothing was saved: clear the choice


st.markdown(f"**{screen.prompt}**")
if screen.input_picture or screen.input_sound:
    left, _ = st.columns([1, 2])
    with left:
        if screen.input_picture:
            st.image(stimulus_bytes(study_id, screen.input_picture), caption="Input", width=240)
        if screen.input_sound:
            sound_player(screen.input_sound, "the input")

labels = dict(screen.options)
waiting = bool(session.unplayed(screen))
if waiting:
    st.info("Play every sound on this screen (to its end) before answering.")
columns = st.columns(max(2, len(screen.slots)) if screen.question != "simulation" else 2)
for display, slot in enumerate(screen.slots):
    with columns[display % len(columns)]:
        st.markdown(f"**{slot.letter}**" if len(screen.slots) > 1 else "**Interpretation**")
        st.image(stimulus_bytes(study_id, slot.picture), width=240)
        if slot.sound:
            sound_player(slot.sound, f"{slot.letter}")
        if screen.question == "rating":
            values = [v for v, _ in screen.options]
            widget = f"study-answer:{screen.item_id}:{slot.slot}"
            stored = screen.answered.get(slot.slot)
            if stored is None:
                st.radio(f"Rating of {slot.letter}", values, index=None, horizontal=True, key=widget, disabled=waiting,
                         format_func=lambda v: f"{v} {labels[v]}", on_change=commit, args=(slot.slot, widget))
            else:
                st.radio(f"Rating of {slot.letter} (saved)", values, index=values.index(stored), horizontal=True,
                         key=f"{widget}:saved", format_func=lambda v: f"{v} {labels[v]}", disabled=True)

if screen.question in ("simulation", "preference"):
    widget = f"study-answer:{screen.item_id}:0"
    if screen.question == "simulation":
        choices, label = [v for v, _ in screen.options], "The classifier decided on"
        fmt = labels.get
    else:
        choices, label = [s.slot for s in screen.slots], "The better interpretation is"
        letters = {s.slot: s.letter for s in screen.slots}
        fmt = letters.get
    st.radio(label, choices, index=None, key=widget, format_func=fmt, horizontal=screen.question == "preference",
             disabled=waiting, on_change=commit, args=(0, widget))
st.caption("Each answer is saved as soon as you choose it and cannot be changed.")
