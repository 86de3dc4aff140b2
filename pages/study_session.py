"""Study session: what a participant sees, opened by their personal link (``?study=ID&token=TOKEN``) or by
the study's platform link (``?study=ID&entry=TAG`` plus Prolific's or MTurk's ids).

Consent first; then the screening (qualification questions, headphone check) when the study has one;
then one screen per item in the participant's own order, methods under neutral letters; every answer is
saved the moment it is chosen and cannot be changed; a reload or another browser (or the same platform
id) continues where the participant left. Sounds must be played (to their end) before answering. The
last page shows the completion code (or the screened-out code) and sends the participant on to the
platform. Columns stack on a phone-sized screen.
"""
from datetime import datetime, timezone

import streamlit as st

from app.study_widgets import completion_page, open_participant, sound_player, stimulus_bytes
from interp_core.study.errors import DuplicateAnswerError, StudyError

# Participants need no menu of the researcher's views.
st.html("<style>[data-testid='stSidebar'], [data-testid='stExpandSidebarButton'] {display: none}</style>")

study_id = st.query_params.get("study", "")
session = open_participant(study_id, dict(st.query_params))
if session is None:
    st.stop()

st.title(session.study["name"])
message = st.session_state.pop("study-message", None)
if message:
    st.warning(message)

if session.stage == "consent":
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

if session.stage == "screening":
    position, step = session.screening_screen()
    st.progress(position / len(session.steps), text=f"Before the study: question {position + 1} of {len(session.steps)}")
    st.markdown(f"**{step.prompt}**")
    waiting = bool(step.sound) and not session.has_played(step.sound)
    if step.sound:
        sound_player(session, study_id, step.sound, "the tones", f"play:{step.key}")
    widget = f"study-screening:{step.key}"

    def commit_screening() -> None:
        try:
            session.answer_screening(step.key, int(st.session_state[widget]))
        except StudyError as err:
            st.session_state["study-message"] = str(err)
            st.session_state[widget] = None

    labels = dict(step.options)
    st.radio("Your answer", [v for v, _ in step.options], index=None, key=widget, format_func=labels.get, disabled=waiting,
             on_change=commit_screening)
    st.stop()

if session.stage in ("done", "screened_out"):
    completion_page(session.completion())
    st.stop()

screen = session.screen()
done, total = session.progress
st.progress(done / total, text=f"Item {screen.position + 1} of {total}")
shown_at = st.session_state.setdefault(f"study-shown:{screen.item_id}", datetime.now(timezone.utc))


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
            sound_player(session, study_id, screen.input_sound, "the input", f"play:{screen.item_id}:{screen.input_sound}")

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
            sound_player(session, study_id, slot.sound, slot.letter, f"play:{screen.item_id}:{slot.sound}")
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
