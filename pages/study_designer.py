"""Study designer (study lead): build a rating study, render its stimuli once, make participant links,
export, import, close."""
import json

import pandas as pd
import streamlit as st

from app.shell import guarded
from app.study_widgets import lead_signed_in, quality_form, recruitment_panel, study_store

st.title("Study designer")
st.caption("Rating studies as in the PIQ paper (Secs. 3.3-3.5): inputs first, then the interpretations of several methods "
           "under neutral letters in a per-participant order, rated 1 (bad) to 5 (excellent); model simulation; pairwise "
           "preference. Stimuli are rendered once and stored with the study.")
if not lead_signed_in():
    st.stop()

from interp_core.study.assignment import ASSIGNMENTS  # noqa: E402
from interp_core.study.design import DEFAULT_CONSENT, DEFAULT_INSTRUCTIONS, QUESTIONS  # noqa: E402
from interp_core.study.errors import StudyError  # noqa: E402

store = study_store()
new_tab, studies_tab, import_tab = st.tabs(["New study", "Studies", "Import"])

with new_tab, guarded("Designing the study"):
    from interp_core.data import DATASETS, dataset_info
    from interp_core.evaluation.compare import comparison_pairs
    from interp_core.evaluation.models import datasets_with_models

    datasets = datasets_with_models()
    if not datasets:
        st.warning("No trained model yet: train one on the Home page.")
        st.stop()
    name = st.text_input("Study name", key="design-name")
    instructions = st.text_area("Instructions", DEFAULT_INSTRUCTIONS, key="design-instructions")
    consent = st.text_area("Consent text", DEFAULT_CONSENT, key="design-consent")
    model_dataset = st.selectbox("Models trained on", datasets, key="design-model-dataset")
    pairs = comparison_pairs(model_dataset)
    labels = [f"{method} on {model}" for method, model in pairs]
    chosen = st.multiselect("Methods to compare", labels, key="design-conditions",
                            help="Any explainer of the registry on any ready model of this dataset.")
    shape = dataset_info(model_dataset).input_shape
    input_datasets = [d for d in DATASETS.names() if dataset_info(d).input_shape == shape]
    c1, c2 = st.columns(2)
    input_dataset = c1.selectbox("Inputs from (gallery, mixtures included)", input_datasets, key="design-input-dataset")
    indices = c2.text_input("Test sample numbers (comma-separated)", "0, 1, 2", key="design-indices")
    kind = dataset_info(model_dataset).kind
    uploads = st.file_uploader("Or upload inputs", accept_multiple_files=True, key="design-uploads",
                               type=["png", "jpg", "jpeg", "webp", "bmp", "gif"] if kind == "image" else ["wav", "flac", "ogg"])
    questions = st.multiselect("Questions", QUESTIONS, default=["rating"], key="design-questions",
                               help="rating: 1-5 per interpretation (MOS); simulation: pick the model's class from the "
                                    "interpretation; preference: which of two is better.")
    c1, c2, c3, c4 = st.columns(4)
    attention = c1.number_input("Attention checks", 0, 10, 1, key="design-attention")
    per_participant = c2.number_input("Items per participant (0: all)", 0, 1000, 0, key="design-per-participant")
    choices = c3.number_input("Simulation: classes to choose from", 2, 50, 4, key="design-choices")
    seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="design-seed")
    if "simulation" in questions:
        st.caption(f"Chance level of model simulation: 1/{choices} = {1 / choices:.1%}.")
    assignment = st.radio("Assigning items", ASSIGNMENTS, horizontal=True, key="design-assignment",
                          help="balanced: blocks of items handed out in turn, so every (input, method) pair gets the same number "
                               "of ratings; latin-square: every input once per participant, under one method, rotated; "
                               "random: a seeded random sample per participant.")
    quality = quality_form(chosen, kind == "audio")

    if st.button("Render stimuli and create the study", type="primary", key="design-create"):
        from interp_core.study.design import Condition, InputSpec, StudyDesign
        from interp_core.study.stimuli import render_study

        try:
            numbers = [int(x) for x in indices.replace(" ", "").split(",") if x]
        except ValueError:
            st.error("Test sample numbers must be whole numbers separated by commas.")
            st.stop()
        inputs = [InputSpec(input_dataset, n) for n in numbers] + [InputSpec(filename=f.name, data=f.getvalue()) for f in uploads or []]
        conditions = [Condition(*pairs[labels.index(label)]) for label in chosen]
        design = StudyDesign(name, tuple(conditions), tuple(inputs), tuple(questions), instructions, consent, int(attention),
                             int(per_participant), int(choices), int(seed), assignment, quality)
        bar = st.progress(0.0, text="Rendering stimuli…")
        try:
            content = render_study(design, progress=lambda f, message: bar.progress(min(1.0, f), text=message))
            study_id = store.create_study(content)
        except (StudyError, ValueError) as err:
            bar.empty()
            st.error(str(err))
        else:
            st.success(f"Created study {study_id} ({design.name}): {len(content.items)} items, {len(content.stimuli)} stimuli. "
                       "Make participant links under Studies.")

with studies_tab, guarded("Listing studies"):
    studies = store.studies()
    if not studies:
        st.info("No study yet.")
    else:
        st.dataframe(pd.DataFrame(studies), hide_index=True, width="stretch")
        study_id = st.selectbox("Study", [s["id"] for s in studies], key="studies-pick",
                                format_func=lambda i: f"{i} · {next(s['name'] for s in studies if s['id'] == i)}")
        c1, c2 = st.columns(2)
        count = c1.number_input("New participant links", 1, 500, 5, key="studies-link-count")
        if c1.button("Make links", key="studies-make-links"):
            from interp_core.study.tokens import make_token, participant_link

            st.session_state["studies-links"] = [participant_link(study_id, make_token(study_id)) for _ in range(int(count))]
        if st.session_state.get("studies-links"):
            st.code("\n".join(st.session_state["studies-links"]), language=None)
            st.caption("Each link is one participant; send each person their own. Links are signed and cannot be guessed.")
        from interp_core.study.bundle import export_study

        c2.download_button("Export study file", lambda chosen=study_id: json.dumps(export_study(store, chosen)), file_name=f"study-{study_id}.json",
                           mime="application/json", key="studies-export")
        status = next(s["status"] for s in studies if s["id"] == study_id)
        if c2.button("Reopen study" if status == "closed" else "Close study to new answers", key="studies-status"):
            store.set_status(study_id, "open" if status == "closed" else "closed")
            st.rerun()
        recruitment_panel(store, study_id, store.study(study_id)["recruitment"])

with import_tab, guarded("Importing"):
    upload = st.file_uploader("Study file (exported from this tool)", type=["json"], key="import-file")
    if upload is not None and st.button("Import", key="import-go"):
        from interp_core.study.bundle import import_study

        try:
            st.success(f"Imported as study {import_study(store, upload.getvalue())}.")
        except StudyError as err:
            st.error(str(err))
