"""Data: browse every registered dataset with its ground truth (masks, attributes, captions, sounds)."""
import numpy as np
import streamlit as st

from app.inputs import input_picker
from app.models import cached_split
from app.report import Report, map_png, show_map
from app.shell import guarded
from app.url import UrlState

st.title("Data")
from interp_core.data import embedded_datasets  # noqa: E402

report = Report("Data")
url = UrlState()
datasets = embedded_datasets()
names = list(datasets)
name = st.selectbox("Dataset", names, index=url.index("dataset", names), format_func=lambda n: f"{n} — {datasets[n]}", key="data-dataset",
                    help="A generated dataset is made once (up to half a minute on 2 CPU cores), then read from the disk cache.")
url.share("dataset", name)
splits = ["train", "test"]
# Opens on the test split: the one every view's gallery explains, and a fifth of the training split's size to generate.
split_name = st.radio("Split", splits, index=url.index("split", splits, splits.index("test")), horizontal=True, key="data-split")
url.share("split", split_name)

with guarded(f"Loading {name}"):
    from interp_core.data.preview import ground_truth_pictures, sample_facts, sample_image

    split = cached_split(name, split_name)
    info = split.info
    st.caption(f"{len(split)} samples · {info.num_classes} classes · input {info.input_shape} · {info.description}")
    url.follow("data-dataset", name, "classes", "page", "inspect")
    all_classes = list(range(info.num_classes))
    classes = st.multiselect("Classes", all_classes, default=url.defaults("classes", all_classes, []),
                             format_func=lambda c: info.class_names[c], placeholder="all classes", key=f"data-classes-{name}")
    if classes:
        url.share("classes", classes)
    else:
        url.forget("classes")
    pool = np.flatnonzero(np.isin(split.labels, classes)) if classes else np.arange(len(split))
    per_page = 8 if info.kind == "audio" else 24
    pages = max(1, -(-len(pool) // per_page))
    page = st.number_input(f"Page (1–{pages})", 1, pages, url.number("page", 1, pages, 1), key=f"data-page-{name}")
    url.share("page", int(page))
    shown = pool[(page - 1) * per_page : page * per_page]
    show_masks = st.toggle("Outline ground-truth masks", value=url.flag("masks", True), key="data-masks")
    url.share("masks", show_masks)
    st.image([sample_image(split, int(i), show_masks) for i in shown], width=96 if info.kind == "image" else 220,
             caption=[f"#{i} {info.class_names[split.labels[i]]}" for i in shown])

    on_page = [int(i) for i in shown]
    index = st.selectbox("Inspect sample", on_page, index=url.index("inspect", on_page),
                         format_func=lambda i: f"#{i} {info.class_names[split.labels[i]]}", key=f"data-inspect-{name}")
    url.share("inspect", index)
    pictures = [("input", sample_image(split, index, with_mask=False))] + ground_truth_pictures(split, index)
    if info.kind == "audio":
        x = split.inputs([index])[0]
        show_map(st, map_png("input", base=x.numpy().reshape(x.shape[-2], x.shape[-1]), audio=True, width=4.0),
                 f"{name} {split_name} #{index} {info.class_names[split.labels[index]]}: log-magnitude spectrogram", report=report,
                 key="data-png-spectrogram")
    st.image([p for _, p in pictures], caption=[c for c, _ in pictures], width=200)
    for label, text in sample_facts(split, index):
        st.write(f"**{label}:** {text}")
    if info.kind == "audio":
        st.audio(np.asarray(split.data[index], dtype=np.float32), sample_rate=info.sample_rate)

st.divider()
st.subheader("Try the input widget")
st.caption("Every view takes its input through this widget: a gallery sample or your own file, validated and "
           "converted to what the models expect.")
with guarded("Reading the input"):
    sample = input_picker(name, key="data-try")
    if sample is not None:
        st.image(sample.display, width=260)
        st.caption(f"{sample.source} → model input {tuple(sample.x.shape)}")
        if sample.waveform is not None:
            st.audio(np.asarray(sample.waveform, dtype=np.float32), sample_rate=info.sample_rate or 16000)
report.offer()
