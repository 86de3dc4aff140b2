"""Compare: one input, every applicable method of every family side by side for the same target class."""
import numpy as np
import streamlit as st

from app.figures import probability_text as percent
from app.inputs import input_picker
from app.models import models_result
from app.report import Report, map_of, show_map, show_table
from app.shell import guarded
from app.url import UrlState
from app.figures import COLOUR_LEGENDS

st.title("Compare explanations")
st.caption("Every method on every ready model it explains, for one input and one target class: inherent methods "
           "on their own models, post-hoc methods on every classifier. Each map is titled with its model's prediction.")

from interp_core.evaluation.compare import (  # noqa: E402
    INPUT_WIDTH, compare, compared_models, comparison_pairs, default_models, is_costly, panel_pictures)
from interp_core.visualize import input_map, map_base  # noqa: E402
from interp_core.store.recipes import all_recipes  # noqa: E402

report = Report("Compare explanations")
url = UrlState()
@st.fragment
def explanations(dataset: str, sample, chosen: list[str], chosen_models: list[str]) -> None:
    """The target class and every map with its numbers: a fragment, so that choosing the target redraws the
    maps only, not the pickers above them."""
    from interp_core.data import dataset_info

    info = dataset_info(dataset)
    audio = info.kind == "audio"
    all_pairs = comparison_pairs(dataset)
    section = report.section("maps")
    with guarded("Comparing explanations"):
        modes = ["each model's prediction", "choose a class"]
        mode = st.radio("Target class", modes, index=1 if "class" in st.query_params else 0, horizontal=True, key="compare-mode")
        target = None
        if mode == "choose a class":
            classes = list(range(info.num_classes))
            default = sample.label if sample.label is not None else 0
            target = st.selectbox("Class", classes, index=url.index("class", classes, default), format_func=lambda c: info.class_names[c],
                                  key=f"compare-class-{dataset}")
            url.share("class", int(target))
        else:
            url.forget("class")
        pairs = tuple((m, model) for m, model in all_pairs if m in chosen and model in chosen_models)
        x = sample.x
        entries = models_result(compare, x, target, pairs, models=compared_models(pairs), spinner="Explaining…")
        base = map_base(x, audio)
        left, right = st.columns([1, 2] if audio else [1, 3])
        truth = f" · true class: {info.class_names[sample.label]}" if sample.label is not None else ""
        show_map(left, map_of(input_map(base, audio, width=INPUT_WIDTH[audio])),
                 f"{sample.source}{truth}" + (" · log-magnitude spectrogram" if audio else ""), report=section, key="compare-png-input")
        if sample.waveform is not None:
            right.markdown("**Listen to the input**")
            right.audio(np.asarray(sample.waveform, dtype=np.float32), sample_rate=info.sample_rate or 16000)
        if audio:
            right.caption("Every map is drawn over the input's spectrogram (grey), time in seconds, frequency in hertz, "
                          "low frequencies at the bottom; a method's colour is opaque where its value is large.")
        rows = []
        columns = st.columns(3)
        for i, entry in enumerate(entries):
            col = columns[i % 3]
            col.markdown(f"**{entry.method}** · {entry.model}")
            if entry.error:
                col.error(entry.error)
                continue
            e = entry.explanation
            names = info.class_names
            who = (f"{entry.method} on {entry.model}: explains {names[e.target]} ({percent(entry.target_probability)}) · "
                   f"predicts {names[entry.predicted]} ({percent(entry.probability)})")
            for k, (panel, spec) in enumerate(panel_pictures(e, base, audio)):
                show_map(col, map_of(spec), f"{who} · {panel}", report=section, key=f"compare-png-{i}-{k}")
                if panel in COLOUR_LEGENDS:
                    col.caption(COLOUR_LEGENDS[panel])
            col.caption(f"{entry.seconds * 1000:.0f} ms")
            if e.waveform is not None and audio:
                col.audio(np.asarray(e.waveform, dtype=np.float32), sample_rate=info.sample_rate or 16000)
                col.caption("the interpretation, as sound")
            rows.append({"method": entry.method, "model": entry.model, "explains": names[e.target],
                         "probability of the explained class": percent(entry.target_probability), "predicts": names[entry.predicted],
                         "probability of the prediction": percent(entry.probability), "ms": round(entry.seconds * 1000, 1),
                         "p_explained": entry.target_probability, "p_predicted": entry.probability})
        if rows:
            st.subheader("All maps in numbers")
            show_table(st, rows, "every method and model on this input", report=section, key="compare-summary",
                       formats={"p_explained": "hidden", "p_predicted": "hidden"})


with guarded("Comparing explanations"):
    from interp_core.evaluation.models import datasets_with_models

    datasets = datasets_with_models()
    if not datasets:
        st.warning("No trained model yet: train one on the Home page.")
        st.stop()
    dataset = url.select(st, "Dataset", datasets, key="compare-dataset", param="dataset")
    all_pairs = comparison_pairs(dataset)
    methods = sorted({m for m, _ in all_pairs})
    models = list(dict.fromkeys(model for _, model in all_pairs))
    c1, c2 = st.columns(2)
    chosen = c1.multiselect("Methods", methods, default=url.defaults("methods", methods, [m for m in methods if not is_costly(m)]),
                            key=f"compare-methods-{dataset}",
                            help="Costly methods (LIME, RISE, Integrated Gradients) run hundreds of forward passes per map.")
    url.share("methods", chosen)
    chosen_models = c2.multiselect("Models", models, default=url.defaults("models", models, default_models(models)), key=f"compare-models-{dataset}",
                                   help="Opens on each family's own model; add the ablations, baselines and conversions here.")
    url.share("models", chosen_models)
    recipes = all_recipes()
    # The sample picker opens on an input this classifier gets right (models of other kinds wrap one).
    first_classifier = next((m for m in models if m in recipes and recipes[m].kind == "classifier"), models[0] if models else None)
    sample = input_picker(dataset, key=f"compare-{dataset}", model=first_classifier, url=url)
    if sample is not None and chosen and chosen_models:
        explanations(dataset, sample, chosen, chosen_models)
report.offer()
