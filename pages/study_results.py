"""Study results (study lead): the ratings collected so far per cell (live), exclusions with their reasons,
MOS ± 95% CI (the interval named) per method and class, box plots, tests, per-item agreement, simulation
accuracy against chance, quality checks, participants (platform ids on request), raw answers."""
import json

import pandas as pd
import streamlit as st

from app.shell import guarded
from app.study_widgets import lead_signed_in, study_store

st.title("Study results")
if not lead_signed_in():
    st.stop()

with guarded("Computing the results"):
    from interp_core.study.results import raw_answers, study_report
    from interp_core.study.stats import CI_METHODS, cell_counts

    store = study_store()
    studies = store.studies()
    if not studies:
        st.info("No study yet: make one in the Study designer.")
        st.stop()
    study_id = st.selectbox("Study", [s["id"] for s in studies], key="results-study",
                            format_func=lambda i: f"{i} · {next(s['name'] for s in studies if s['id'] == i)}")

    @st.fragment(run_every=10)
    def live_counts() -> None:
        cells = pd.DataFrame(cell_counts(store.responses(study_id)))
        st.subheader("Collected so far (live)")
        if cells.empty:
            st.info("No answers yet.")
            return
        table = cells.pivot_table(index="stimulus", columns="condition", values="answers", aggfunc="sum", fill_value=0)
        st.dataframe(table, width="stretch")
        per = cells.groupby("condition")["answers"].sum()
        st.caption(f"Answers per (stimulus, method) cell: {table.to_numpy().min()}–{table.to_numpy().max()}; per method: "
                   + ", ".join(f"{c} {n}" for c, n in per.items()) + ". Refreshes every 10 s; check items not counted.")

    live_counts()
    c1, c2 = st.columns(2)
    apply = c1.checkbox("Apply the study's exclusion rules", True, key="results-apply")
    ci = c2.selectbox("Confidence interval of the MOS", list(CI_METHODS), key="results-ci", format_func=CI_METHODS.get)
    result = study_report(store, study_id, apply_exclusions=apply, ci=ci)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Participants with answers", result["participants"])
    c2.metric("Answers", result["answers"])
    c3.metric("Screened out", len(result["screened_out"]))
    c4.metric("Excluded", len(result["exclusions"]))
    rules = result["rules"]
    st.caption(f"Rules: failed checks allowed — attention {rules['attention']}, gold {rules['gold']}, trap {rules['trap']} "
               f"(-1: never excluded); unfinished participants {'excluded' if rules['incomplete'] else 'kept'}. "
               "Excluded participants stay in the raw answers." + ("" if apply else " Not applied now: everybody counts."))
    if result["exclusions"]:
        st.dataframe(pd.DataFrame([{"participant": e["participant"], "reasons": "; ".join(e["reasons"])} for e in result["exclusions"]]),
                     hide_index=True, width="stretch")
    if result["screened_out"]:
        st.markdown("**Screened out** (no ratings stored)")
        st.dataframe(pd.DataFrame(result["screened_out"]), hide_index=True, width="stretch")

    rows = raw_answers(store, study_id)
    used = [r for r in rows if r["participant"] not in set(result["excluded_participants"])]
    if result["mos"]:
        st.subheader("Mean opinion scores (1 bad – 5 excellent), 95% confidence intervals")
        st.caption(f"Interval: {result['ci_method']}.")
        st.dataframe(pd.DataFrame(result["mos"]), hide_index=True, width="stretch")
        st.markdown("**Per class**")
        st.dataframe(pd.DataFrame(result["mos_by_class"]), hide_index=True, width="stretch")
        import plotly.graph_objects as go

        ratings = pd.DataFrame([r for r in used if r["question"] == "rating" and not r["attention"]])
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
        st.subheader("Agreement")
        if result["alpha_ordinal"] is not None:
            st.write(f"Krippendorff's α (ordinal): {result['alpha_ordinal']:.3f}")
        st.dataframe(pd.DataFrame(result["agreement"]), hide_index=True, width="stretch")
        st.caption("Per (stimulus, method): SD of the ratings and r_wg = 1 − s²/2 (1: full agreement, 0: no more than chance).")
    if result["simulation"]:
        st.subheader("Model simulation: accuracy against chance (one-sided binomial test)")
        st.dataframe(pd.DataFrame(result["simulation"]), hide_index=True, width="stretch")
    if result["preference"]:
        st.subheader("Pairwise preference (two-sided binomial test against 1/2)")
        st.dataframe(pd.DataFrame(result["preference"]), hide_index=True, width="stretch")
    if any(a["checks"] for a in result["attention"]):
        st.subheader("Check items per participant")
        st.dataframe(pd.DataFrame(result["attention"]), hide_index=True, width="stretch")

    st.subheader("Participants")
    show_ids = st.checkbox("Show and export the platforms' raw participant ids (personal data)", key="results-platform-ids")
    from interp_core.study.exclusion import participant_summaries

    st.dataframe(pd.DataFrame(participant_summaries(store.participants(study_id), with_platform_ids=show_ids)), hide_index=True,
                 width="stretch")
    if rows:
        st.subheader("Raw answers (long format, every participant)")
        export = raw_answers(store, study_id, with_platform_ids=show_ids)
        c1, c2 = st.columns(2)
        c1.download_button("CSV", lambda rows=export: pd.DataFrame(rows).to_csv(index=False), file_name=f"{study_id}-answers.csv", mime="text/csv",
                           key="results-csv")
        c2.download_button("JSON", lambda rows=export: json.dumps(rows, indent=1), file_name=f"{study_id}-answers.json", mime="application/json",
                           key="results-json")
