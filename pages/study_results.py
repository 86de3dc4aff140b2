"""Study results (study lead): MOS ± 95% CI per method and class, box plots, tests, simulation
accuracy against chance, agreement, attention checks, raw answers for download."""
import json

import pandas as pd
import streamlit as st

from app.shell import guarded
from app.study_widgets import lead_signed_in, study_store

st.title("Study results")
if not lead_signed_in():
    st.stop()

with guarded("Computing the results"):
    from interp_core.study.stats import study_results

    store = study_store()
    studies = store.studies()
    if not studies:
        st.info("No study yet: make one in the Study designer.")
        st.stop()
    study_id = st.selectbox("Study", [s["id"] for s in studies], key="results-study",
                            format_func=lambda i: f"{i} · {next(s['name'] for s in studies if s['id'] == i)}")
    rows = store.responses(study_id)
    exclude = st.checkbox("Leave out participants who failed an attention check", key="results-exclude")
    result = study_results(rows, exclude_flagged=exclude)
    c1, c2, c3 = st.columns(3)
    c1.metric("Participants", result["participants"])
    c2.metric("Answers", result["answers"])
    c3.metric("Flagged by attention checks", len(result["flagged_participants"]))
    if result["flagged_participants"]:
        st.warning(f"Failed an attention check: {', '.join(result['flagged_participants'])}"
                   + (" (left out below)." if exclude else " (kept in every number below)."))

    if result["mos"]:
        st.subheader("Mean opinion scores (1 bad – 5 excellent), 95% confidence intervals")
        st.dataframe(pd.DataFrame(result["mos"]), hide_index=True, width="stretch")
        st.markdown("**Per class**")
        st.dataframe(pd.DataFrame(result["mos_by_class"]), hide_index=True, width="stretch")
        import plotly.graph_objects as go

        ratings = pd.DataFrame([r for r in rows if r["question"] == "rating" and not r["attention"]
                                and not (exclude and r["participant"] in result["flagged_participants"])])
        figure = go.Figure()
        for condition, group in ratings.groupby("condition"):
            figure.add_box(x=group["class_name"], y=group["value"], name=condition, boxmean=True)
        figure.update_layout(boxmode="group", yaxis_title="opinion score", xaxis_title="class", height=420,
                             yaxis_range=[0.5, 5.5], margin=dict(t=30))
        st.plotly_chart(figure, width="stretch")
        st.caption("Boxes per class and method (as the PIQ paper's Figs. 5/6); the dashed line is the mean (MOS).")
        st.subheader("Tests")
        if result["friedman"]:
            f = result["friedman"]
            st.write(f"Friedman over {len(f['methods'])} methods, {f['participants']} participants: "
                     f"χ² = {f['statistic']:.3f}, p = {f['p']:.4g}")
        if result["wilcoxon"]:
            st.markdown("Pairwise Wilcoxon signed-rank (participants' mean ratings), Holm-adjusted")
            st.dataframe(pd.DataFrame(result["wilcoxon"]), hide_index=True, width="stretch")
        if result["alpha_ordinal"] is not None:
            st.write(f"Krippendorff's α (ordinal): {result['alpha_ordinal']:.3f}")
    if result["simulation"]:
        st.subheader("Model simulation: accuracy against chance (one-sided binomial test)")
        st.dataframe(pd.DataFrame(result["simulation"]), hide_index=True, width="stretch")
    if result["preference"]:
        st.subheader("Pairwise preference (two-sided binomial test against 1/2)")
        st.dataframe(pd.DataFrame(result["preference"]), hide_index=True, width="stretch")
    if result["attention"]:
        st.subheader("Attention checks")
        st.dataframe(pd.DataFrame(result["attention"]), hide_index=True, width="stretch")
    if not rows:
        st.info("No answers yet.")
    else:
        st.subheader("Raw answers (long format)")
        c1, c2 = st.columns(2)
        c1.download_button("CSV", pd.DataFrame(rows).to_csv(index=False), file_name=f"{study_id}-answers.csv", mime="text/csv",
                           key="results-csv")
        c2.download_button("JSON", json.dumps(rows, indent=1), file_name=f"{study_id}-answers.json", mime="application/json",
                           key="results-json")
