"""Compare: one input, every available method of every family side by side for the same target class."""
import streamlit as st

from app.components import guarded, input_picker

st.title("Compare explanations")
st.caption("Inherent explanations (B-cos, KMEx, …) of their own models beside post-hoc explanations of the "
           "standard model, for one input and one target class. Each map is titled with its model's prediction.")

from interp_core.methods.compare import comparison_pairs, compare, is_costly  # noqa: E402


@st.cache_data(show_spinner="Explaining…", max_entries=64)
def cached_compare(x_bytes: bytes, shape: tuple, target: int | None, pairs: tuple):
    import numpy as np
    import torch

    x = torch.from_numpy(np.frombuffer(x_bytes, dtype=np.float32).reshape(shape).copy())
    return compare(x, target, list(pairs))


with guarded("Comparing explanations"):
    from interp_core.data import dataset_info
    from interp_core.visualize import explanation_image

    dataset = st.selectbox("Dataset", ["shapes", "digits", "sounds"])
    info = dataset_info(dataset)
    all_pairs = comparison_pairs(dataset)
    if not all_pairs:
        st.warning("No trained model for this dataset yet: train it on the Home page.")
        st.stop()
    methods = sorted({m for m, _ in all_pairs})
    chosen = st.multiselect("Methods", methods, default=[m for m in methods if not is_costly(m)],
                            help="LIME, RISE and Integrated Gradients run hundreds of forward passes per map.")
    sample = input_picker(dataset, key="compare")
    if sample is not None and chosen:
        mode = st.radio("Target class", ["each model's prediction", "choose a class"], horizontal=True)
        target = None
        if mode == "choose a class":
            default = sample.label if sample.label is not None else 0
            target = st.selectbox("Class", range(info.num_classes), index=default, format_func=lambda c: info.class_names[c])
        pairs = tuple((m, model) for m, model in all_pairs if m in chosen)
        x = sample.x.float().contiguous()
        entries = cached_compare(x.numpy().tobytes(), tuple(x.shape), target, pairs)
        left, _ = st.columns([1, 3])
        left.image(sample.display, caption=sample.source + (f" · true class: {info.class_names[sample.label]}" if sample.label is not None else ""),
                   width=200)
        columns = st.columns(4)
        for i, entry in enumerate(entries):
            col = columns[i % 4]
            title = f"**{entry.method}** · {entry.model}"
            col.markdown(title)
            if entry.error:
                col.error(entry.error)
                continue
            col.image(explanation_image(x, entry.explanation, info.kind), width=200)
            col.caption(f"explains {info.class_names[entry.explanation.target]} (p={entry.target_probability:.2f}) · "
                        f"predicts {info.class_names[entry.predicted]} (p={entry.probability:.2f}) · {entry.seconds * 1000:.0f} ms")
