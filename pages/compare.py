"""Compare: one input, every applicable method of every family side by side for the same target class."""
import numpy as np
import streamlit as st

from app.components import guarded, input_picker, tensor_from_key, tensor_key

st.title("Compare explanations")
st.caption("Every method on every ready model it explains, for one input and one target class: inherent methods "
           "on their own models, post-hoc methods on every classifier. Each map is titled with its model's prediction.")

from interp_core.evaluation.compare import compare, comparison_pairs, is_costly, pair_fingerprints  # noqa: E402


@st.cache_data(show_spinner="Explaining…", max_entries=64)
def cached_compare(x_key: tuple, target: int | None, pairs: tuple, fingerprints: tuple):
    # ``fingerprints`` only keys the cache: retrained weights never reuse old explanations.
    return compare(tensor_from_key(*x_key), target, list(pairs))


with guarded("Comparing explanations"):
    from interp_core.data import dataset_info
    from interp_core.evaluation.models import datasets_with_models
    from interp_core.visualize import explanation_panels

    datasets = datasets_with_models()
    if not datasets:
        st.warning("No trained model yet: train one on the Home page.")
        st.stop()
    dataset = st.selectbox("Dataset", datasets)
    info = dataset_info(dataset)
    all_pairs = comparison_pairs(dataset)
    methods = sorted({m for m, _ in all_pairs})
    models = list(dict.fromkeys(model for _, model in all_pairs))
    c1, c2 = st.columns(2)
    chosen = c1.multiselect("Methods", methods, default=[m for m in methods if not is_costly(m)],
                            help="Costly methods (LIME, RISE, Integrated Gradients) run hundreds of forward passes per map.")
    chosen_models = c2.multiselect("Models", models, default=models)
    sample = input_picker(dataset, key="compare")
    if sample is not None and chosen and chosen_models:
        mode = st.radio("Target class", ["each model's prediction", "choose a class"], horizontal=True)
        target = None
        if mode == "choose a class":
            default = sample.label if sample.label is not None else 0
            target = st.selectbox("Class", range(info.num_classes), index=default, format_func=lambda c: info.class_names[c])
        pairs = tuple((m, model) for m, model in all_pairs if m in chosen and model in chosen_models)
        x = sample.x.float().contiguous()
        entries = cached_compare(tensor_key(x), target, pairs, pair_fingerprints(list(pairs)))
        left, right = st.columns([1, 3])
        left.image(sample.display, caption=sample.source + (f" · true class: {info.class_names[sample.label]}" if sample.label is not None else ""),
                   width=200)
        if sample.waveform is not None:
            right.audio(np.asarray(sample.waveform, dtype=np.float32), sample_rate=info.sample_rate or 16000)
        columns = st.columns(3)
        for i, entry in enumerate(entries):
            col = columns[i % 3]
            col.markdown(f"**{entry.method}** · {entry.model}")
            if entry.error:
                col.error(entry.error)
                continue
            panels = explanation_panels(x, entry.explanation, info.kind)
            col.image([picture for _, picture in panels], width=200 if len(panels) == 1 else 130,
                      caption=[title for title, _ in panels])
            col.caption(f"explains {info.class_names[entry.explanation.target]} (p={entry.target_probability:.3f}) · "
                        f"predicts {info.class_names[entry.predicted]} (p={entry.probability:.3f}) · {entry.seconds * 1000:.0f} ms")
