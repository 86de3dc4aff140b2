"""Home: what the tool is, its views, which models are ready, the device, and training what is missing."""
import pandas as pd
import streamlit as st

from app.models import RECORDED_ACCURACY, model_table
from app.report import Report, show_table, static_table
from app.shell import existing_views, guarded
from app.url import UrlState

report = Report("interp-core models")
url = UrlState()
st.title("interp-core · explanation explorer")
st.markdown(
    "Train and inspect **inherently interpretable** image and audio classifiers, compare them with post-hoc "
    "explanations of standard models and score them on the same benchmark. Everything runs offline on the "
    "embedded datasets (see **Data**); real datasets load from a folder you name."
)

st.subheader("Views")
st.table(static_table(pd.DataFrame([{"section": section, "view": view.title, "what you see": view.summary}
                                    for section, views in existing_views().items() for view in views])))
st.caption("Every view keeps its state (dataset, sample, class, models, methods) in the page's address: copy the "
           "address to share exactly what you see, or to prepare a lesson as a list of links. Figures download as "
           "PNG, tables as CSV, and the sidebar's *Download report* saves the whole view as one HTML file.")

st.subheader("Models")
# Made before the guarded blocks: the device row is shown even when reading the store fails.
c1, c2 = st.columns(2)
device_slot = c2.empty()
with guarded("Reading the model store"):
    rows = model_table()
    frame = pd.DataFrame(rows)
    ready = int((frame["status"] != "missing").sum())
    c1.metric("Models ready", f"{ready} / {len(frame)}")
    filters = ["all", "ready", "not trained"]
    shown = st.radio("Show", filters, index=url.index("models", filters), horizontal=True, key="home-models-filter")
    url.share("models", shown)
    kept = frame if shown == "all" else frame[(frame["status"] != "missing") == (shown == "ready")]
    show_table(st, kept, "models", report=report, key="home-models", width="stretch",
               formats={RECORDED_ACCURACY: "%.3f"})
    st.caption("Accuracies are the test metrics recorded in each checkpoint when it was trained (date beside them); "
               "`python -m interp_core eval NAME` computes them now.")

    missing = [r["model"] for r in rows if r["status"] == "missing"]
    if missing:
        from interp_core.progress import format_duration
        from interp_core.store.trainable import training_estimate

        estimates = {name: training_estimate(name) for name in missing}
        total = sum(t for t, _ in estimates.values() if t is not None)
        st.write(f"Not trained yet: {', '.join(missing)}.")
        st.caption("Estimated training time on the CPU, from the times recorded in the shipped checkpoints' cards: "
                   + "; ".join(f"{name} {format_duration(t, about=True)} ({basis})" if t is not None else f"{name}: no recorded time"
                               for name, (t, basis) in estimates.items())
                   + ". The page must stay open until training ends; `python -m interp_core train NAME` does the same from a shell.")
        if st.button(f"Train {len(missing)} missing model(s) · {format_duration(total, about=True)} in all", type="primary"):
            from interp_core.store import train_recipe

            bar = st.progress(0.0, text="Starting…")
            for i, name in enumerate(missing):
                def report(p, i=i, name=name):
                    bar.progress(min(1.0, (i + p.fraction) / len(missing)), text=f"{name}: {p.message}")

                with guarded(f"Training {name}"):
                    trained = train_recipe(name, progress=report, show_bar=False)
                    accuracy = trained.meta["test_metrics"].get("accuracy", float("nan"))
                    st.success(f"{name}: test accuracy {accuracy:.3f} (measured now) in {trained.meta['train_seconds']:.0f}s")
            bar.progress(1.0, text="Done")
            model_table.clear()
    else:
        st.success("All models are ready.")

with guarded("Detecting the device"):
    from interp_core.device_label import device_label  # torch-free until torch is imported

    device_slot.metric("Device", device_label())
report.offer()
