"""Benchmark: every method of every family on the same interventions (creatures, our 2D FunnyBirds; sounds-mix),
FunnyBirds' metrics, the randomisation test, sparseness and the pointing game, with a look at one input."""
import streamlit as st

from app.models import models_result
from app.report import Report, built_figure, map_png, picture_key, show_chart, show_map, show_table
from app.shell import guarded
from app.url import UrlState

st.title("Benchmark")
st.caption("Which explanation to trust: each input is drawn again without each of its parts (creatures) or "
           "re-mixed without each source (sounds-mix), nothing is masked, and every method is scored on how well "
           "its map predicts what the model lost (FunnyBirds' metrics: completeness, correctness, contrastivity). "
           "Two reference rows frame every model: a random map (chance) and the oracle built from the true drops.")

from interp_core.evaluation import benchmark as bench  # noqa: E402
from interp_core.evaluation import benchmark_views as views  # noqa: E402

BENCHMARKS = tuple(bench.DEFAULTS)


report = Report("Benchmark")
url = UrlState()
with guarded("The benchmark"):
    results = {name: st.session_state.get(f"bm-run-{name}") or bench.read_results(name) for name in BENCHMARKS}
    first_with_result = next((i for i, name in enumerate(BENCHMARKS) if results[name] is not None), 0)
    benchmark = url.select(st, "Benchmark", list(BENCHMARKS), key="bm-benchmark", param="benchmark", default=first_with_result)
    result = results[benchmark]
    if result is None:
        st.info(f"No recorded result of the {benchmark} benchmark for today's weights. Run it here on a few inputs, or "
                f"in full with `python -m interp_core benchmark {benchmark} --json` (about half an hour on 2 CPU cores).")
    c1, c2 = st.columns([1, 2])
    inputs = int(c1.number_input("Inputs per method", 5, 300, 20, step=5, key="bm-inputs"))
    if c2.button(f"Run on {inputs} inputs", key="bm-run", help="Every method of every family on every ready model; "
                 "results are cached per input under the weights, so a repeated run comes back at once."):
        bar = st.progress(0.0, text="Starting…")
        result = bench.run_benchmark(benchmark, images=inputs, costly_images=max(2, inputs // 10),
                                     progress=lambda p: bar.progress(min(1.0, p.fraction), text=p.message))
        st.session_state[f"bm-run-{benchmark}"] = result
        bar.empty()
    if result is None:
        report.offer()
        st.stop()
    provenance = views.provenance(result, recorded=result is not st.session_state.get(f"bm-run-{benchmark}"))
    st.caption(provenance)
    all_families, all_models = views.families(result), views.models(result)
    f1, f2 = st.columns(2)
    chosen_families = f1.multiselect("Families", all_families, default=url.defaults("families", all_families, all_families),
                                     key=f"bm-families-{benchmark}")
    url.share("families", chosen_families)
    chosen_models = f2.multiselect("Models", all_models, default=url.defaults("models", all_models, all_models),
                                   key=f"bm-models-{benchmark}")
    url.share("models", chosen_models)
    rows = views.chosen(result, chosen_families, chosen_models)
    report.text(f"{benchmark} benchmark. {provenance}")
    if rows:
        show_table(st, views.table(rows), f"{benchmark} benchmark: methods x metrics", report=report,
                   key=f"bm-table-{benchmark}", formats=views.FORMATS)
    else:
        st.info("No row of the chosen families and models: choose at least one of each.")
    st.caption("Sweep columns are the mean over the 80 thresholds; *best t* is the paper's value at each pair's best "
               "threshold (optimistic). Randomisation: Spearman ρ of the map with the trained model's at full "
               "randomisation (lower is better). Notes: " + " ".join(result.get("notes", [])))
    if rows:
        axes = ", ".join(label for _, label in views.summary_axes(rows)) or "No summary axis"
        summary = built_figure(views.summary_figure, rows, key=("bm-summary", picture_key(rows)))
        show_chart(st, summary, f"{axes} per model · method, the model's references dashed", key=f"bm-summary-{benchmark}",
                   report=report, name=f"{benchmark}-benchmark")
        st.caption(f"One chart per model · method over the axes that apply to {benchmark} ({axes}; 0-1). Dashed: "
                   "the same model's references, random and uniform maps (chance) and the oracle (ceiling).")

    st.subheader("One input up close")
    pairs = views.drill_pairs(rows)
    look = st.toggle("Show one input: its parts, a method's map and every intervention", url.flag("look", False), key="bm-look")
    url.share("look", look)
    if pairs and look:
        d1, d2, d3 = st.columns(3)
        model, method = d1.selectbox("Model · method", pairs, index=url.index("pair", pairs, to_text=lambda p: f"{p[0]}:{p[1]}"),
                                     format_func=lambda p: f"{p[1]} on {p[0]}", key=f"bm-pair-{benchmark}")
        url.share("pair", f"{model}:{method}")
        last = result.get("config", {}).get("test_inputs", 1) - 1
        index = int(d2.number_input("Test input", 0, last, url.number("input", 0, last, 0), key=f"bm-input-{benchmark}"))
        url.share("input", index)
        drill = models_result(bench.drill_down, model, method, index, benchmark, models=(model,),
                              spinner="Explaining one input and drawing its interventions…")
        names = drill["class_names"]
        d3.markdown(f"label **{names[drill['label']]}**, predicted **{names[drill['prediction']]}**; single deletion "
                    + ("n/a" if drill["single_deletion"] is None else f"{drill['single_deletion']:.2f}"))
        audio = drill["image"] is None
        base = drill["input"][0] if audio else drill["image"]
        m1, m2 = st.columns(2)
        show_map(m1, map_png("input", base=base, audio=audio), f"test input {index}", report=report, key="bm-png-input")
        show_map(m2, map_png("signed", drill["map"], base=base, audio=audio), f"{method} for {names[drill['label']]}",
                 report=report, key="bm-png-map")
        show_table(st, views.importance_table(drill), f"part importances of {method} on input {index}", report=report,
                   key="bm-importance", formats=views.DRILL_FORMATS)
        shown = drill["interventions"]
        for col, entry in zip(st.columns(max(1, len(shown))), shown):
            picture = entry["input"][0] if audio else entry["image"]
            col.image(map_png("input", base=picture, audio=audio, width=1.6), caption=views.intervention_caption(entry, names))
report.offer()
