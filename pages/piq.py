"""PIQ: class-specific quantised interpretations of a frozen classifier, for images and sounds, on clean
and contaminated inputs; the metrics table against Grad-CAM and LIME."""
import numpy as np
import streamlit as st

from app.figures import probability_text as percent
from app.inputs import input_picker
from app.models import model_picker, view_result
from app.report import Report, picture_png, plotly_config, show_map, show_table
from app.shell import guarded
from app.url import UrlState

st.title("PIQ")
st.caption("PIQ (Posthoc Interpretation via Quantization) explains a trained classifier with an interpreter that "
           "reads the classifier's representation, quantises it with the dictionary keys of **one class only** and "
           "decodes a mask of the input: what the classifier's decision rests on. Red shows the mask; the classifier's "
           "decision is written in green.")

from interp_core.methods.piq import contaminated, views  # noqa: E402

report = Report("PIQ")
url = UrlState()
name, loaded = model_picker(views.piq_recipes(), "piq-model", "No PIQ interpreter is trained yet: train one on the Home page.",
                            url=url)
dataset, fp, names = loaded.recipe.dataset, loaded.card.fingerprint, loaded.card.class_names
audio = loaded.card.modality == "audio"
st.caption(f"`{name}`: {loaded.model.interpreter.codebook.keys_per_class} dictionary keys per class on the frozen "
           f"`{loaded.recipe.backbone}` ({loaded.source} checkpoint). Training targets: {views.TARGET_TEXT.get(loaded.recipe.target, loaded.recipe.target)}.")

st.header("Interpret a sound" if audio else "Interpret an image")
sample = None
with guarded("Preparing the input"):
    extras = views.extra_inputs(dataset)
    kinds = ["Sample or upload", "Mixture of two"] + list(extras)
    kind = st.radio("Kind of input", kinds, index=url.index("input", kinds), horizontal=True, key=f"piq-{dataset}-kind")
    url.share("input", kind)
    if kind == "Sample or upload":
        picked = input_picker(dataset, key=f"piq-{dataset}", model=name, url=url)
        if picked is not None:
            sample = contaminated.from_sample(picked.x, picked.label, picked.source, picked.waveform)
    elif kind == "Mixture of two":
        a, b, w = st.columns(3)
        limit = views.test_size(dataset) - 1
        index_a = a.number_input(f"First test sample (0–{limit})", 0, limit, 0, key=f"piq-{dataset}-a")
        index_b = b.number_input(f"Second test sample (0–{limit})", 0, limit, 1, key=f"piq-{dataset}-b")
        weight = w.slider("Weight of the first", 0.0, 1.0, 0.5, 0.05, key=f"piq-{dataset}-weight",
                          help="PIQ's mixtures: 0.5/0.5 (v1) and 0.7/0.3 (v2).")
        build = contaminated.mix_sounds if audio else (lambda i, j, wt: contaminated.mix_images(dataset, i, j, wt))
        sample = build(int(index_a), int(index_b), float(weight))
    else:
        builder, size = extras[kind]
        index = st.number_input(f"Test sample (0–{size - 1})", 0, size - 1, 0, key=f"piq-{dataset}-extra")
        sample = builder(int(index))

if sample is not None:
    with guarded("Interpreting the input"):
        x = sample.x.float().contiguous()
        wave = None if sample.waveform is None else np.asarray(sample.waveform, np.float32)

        def interpretation(chosen):
            if audio:
                return view_result(views.interpret_sound, name, x, wave, chosen, spinner="Interpreting…")
            return view_result(views.interpret_image, name, x, chosen, spinner="Interpreting…")

        st.caption(sample.description + (" · sources: " + ", ".join(names[c] for c in sample.labels) if len(sample.labels) > 1 else ""))
        first = interpretation(None)
        all_classes = list(range(len(names)))
        url.follow("piq-input", (name, sample.description), "class")
        chosen = st.selectbox("Interpret for class", all_classes, index=url.index("class", all_classes, first.prediction),
                              format_func=lambda c: names[c], key=f"piq-chosen-{dataset}",
                              help="The quantiser uses this class's dictionary keys only (default: the classifier's decision).")
        url.share("class", int(chosen))
        top = np.argsort(-first.probabilities)[:3]
        decision = " · ".join(f"{names[c]} {percent(first.probabilities[c])}" for c in top)
        st.markdown(f"**Classifier's decision:** {decision}")
        report.text(f"{sample.description} · classifier's decision: {decision}")
        if audio:
            view = interpretation(int(chosen))
            st.plotly_chart(view.figure, key=f"piq-spectrogram-{dataset}", config=plotly_config(f"piq-{names[view.target]}"))
            report.plotly(view.figure, f"PIQ's interpretation for {names[view.target]} (time s, frequency Hz)")
            left, right = st.columns(2)
            left.markdown("**Input**")
            left.audio(view.input_wav, format="audio/wav")
            right.markdown(f"**Interpretation for {names[view.target]}**"
                           + (" (phase estimated by Griffin-Lim)" if view.phase != "input" else " (the input's phase)"))
            right.audio(view.interpretation_wav, format="audio/wav")
            right.download_button("Download the interpretation (WAV)", lambda wav=view.interpretation_wav: wav,
                                  file_name=f"piq-{names[view.target]}.wav", mime="audio/wav", key=f"piq-download-{dataset}")
        else:
            view = interpretation(int(chosen))
            columns = st.columns(1 + len(view.panels))
            show_map(columns[0], picture_png(view.input), f"input · decision in green · {name}", report=report, key="piq-png-input")
            for k, (column, panel) in enumerate(zip(columns[1:], view.panels)):
                show_map(column, picture_png(panel.picture), f"{panel.title} · area {panel.area:.0%}", report=report, key=f"piq-png-{k}")
            st.caption("Red: the mask, its opacity the mask value from 0 (input unchanged) to 1 (full red, "
                       f"{round(views.MASK_ALPHA * 100)}% opaque); Grad-CAM and LIME masks are thresholded to PIQ's area.")
        if len(sample.masks):
            ious = views.source_overlaps(view.mask if audio else view.piq_mask(int(chosen)), sample.masks)
            st.caption(f"IoU of PIQ's mask for {names[int(chosen)]} with each source's ground-truth mask: "
                       + ", ".join(f"{names[c]} {iou:.2f}" for c, iou in zip(sample.labels, ious)))

st.header("Metrics")
with guarded("Computing the metrics"):
    default = views.METRIC_SAMPLES.get(dataset, 200)
    test_samples = st.number_input("Test inputs", 20, views.test_size(dataset), min(default, views.test_size(dataset)), 20,
                                   key=f"piq-metrics-n-{dataset}")
    metrics = views.cached_piq_metrics(loaded, test_samples=int(test_samples), compute=False)
    if metrics is None and st.button("Compute the metrics table", key=f"piq-metrics-run-{dataset}"):
        metrics = view_result(views.cached_piq_metrics, name, test_samples=int(test_samples),
                              spinner="Computing the metrics (half a minute to a few minutes the first time)…")
    if metrics is None:
        st.info("The metrics of these weights are not computed yet: press the button (they are kept for next time).")
    else:
        st.caption(f"Computed on {metrics['n']} test inputs of {dataset} for these weights (LIME on the first "
                   f"{metrics.get('lime_n', 0)}; Grad-CAM and LIME masks of the decision thresholded to the area of PIQ's mask). "
                   "Fidelity-in (Eq. 3): share of interpretations the classifier gives the input's class; faithfulness (Eq. 4): "
                   "probability lost when the interpretation is removed; AI/AD/AG: the reference's average increase/drop/gain "
                   "(AD without its double softmax); the Fréchet distance is on our classifier's own features (no Inception "
                   "weights here).")
        show_table(st, views.metrics_rows(metrics), f"PIQ metrics of {name}", report=report, key="piq-metrics")
        mixtures = views.mixture_rows(metrics)
        if mixtures:
            st.markdown(f"**Contaminated inputs** ({metrics['mixture_dataset']} test)")
            show_table(st, mixtures, f"PIQ metrics of {name} on contaminated inputs", report=report, key="piq-mixtures")
report.offer()
