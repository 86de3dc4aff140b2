"""Pointing game: localisation scores of any method on grids of test images (B-cos paper, Sec. 4)."""
import streamlit as st

from app.components import cached_model, guarded

st.title("Grid pointing game")
st.caption("Grids of the most confidently and correctly classified test images of distinct classes; for each "
           "class, the share of positive (smoothed) attribution that falls into its own cell. Chance is 1/n.")

from interp_core.evaluation.pointing import (  # noqa: E402
    default_selection,
    example_grids,
    long_scores,
    pointing_models,
    run_pointing_game,
    scores_table,
)
from interp_core.metrics.pointing_game import COSTLY_GRIDS  # noqa: E402


@st.cache_data(show_spinner="Explaining example grids…", max_entries=32)
def cached_examples(model: str, fingerprint: str, method: str, size: int):
    # ``fingerprint`` only keys the cache: retrained weights never reuse old example maps.
    return example_grids(model, method, size=size, count=2)


with guarded("The pointing game"):
    from interp_core.methods.base import available_explainers, explainer_class

    models_all = pointing_models()
    default_models, default_methods = default_selection(models_all)
    models = st.multiselect("Models", models_all, default=default_models)
    cards = {name: cached_model(name).card for name in models}
    supported = {m: [name for name in models if explainer_class(m).supports(cards[name])] for m in available_explainers()}
    offered = [m for m, names in supported.items() if names]
    methods = st.multiselect("Methods", offered, default=[m for m in default_methods if m in offered])
    c1, c2 = st.columns(2)
    size = c1.radio("Grid", [3, 2], format_func=lambda s: f"{s}×{s}", horizontal=True)
    n_grids = c2.number_input("Grids", 1, 500, 50, help=f"The paper uses 500. Costly methods (IG, LIME, RISE) use at most {COSTLY_GRIDS}.")
    config = (tuple(models), tuple(cards[m].fingerprint for m in models), tuple(methods), int(n_grids), int(size))
    if st.button("Run", type="primary", disabled=not (models and methods)):
        bar = st.progress(0.0, text="Starting…")

        def report(step):
            bar.progress(min(1.0, step.fraction), text=step.message)

        # The library caches every grid's scores on disk by weights fingerprint: a repeated run is instant.
        result = run_pointing_game(list(models), list(methods), n_grids=int(n_grids), size=int(size), progress=report,
                                   train_if_missing=False)
        st.session_state["pointing_game"] = (config, result)
        bar.progress(1.0, text="Done (scores are cached per grid: a repeated or resumed run comes back instantly)")
    if st.session_state.get("pointing_game", (None,))[0] == config:
        result = st.session_state["pointing_game"][1]
        for note in result["notes"]:
            st.info(note)
        import pandas as pd
        import plotly.express as px

        table = pd.DataFrame(scores_table(result))
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("mean", "median", "q25", "q75")})
        st.caption(f"Chance level: {1 / size ** 2:.3f}")
        long = pd.DataFrame(long_scores(result))
        fig = px.box(long, x="method", y="score", color="model", points=False, title="Localisation per method and model")
        fig.add_hline(y=1 / size ** 2, line_dash="dot", annotation_text="chance")
        fig.update_yaxes(title="share of positive attribution in the own cell", range=[0, 1])
        st.plotly_chart(fig, width="stretch")
        st.download_button("Download scores (CSV)", long.to_csv(index=False), "pointing_game.csv", "text/csv")
        st.download_button("Download summary (CSV)", table.to_csv(index=False), "pointing_game_summary.csv", "text/csv")

        st.subheader("Example grids")
        e1, e2 = st.columns(2)
        ex_model = e1.selectbox("Model", models)
        ex_method = e2.selectbox("Method", [m for m in methods if ex_model in supported[m]])
        if ex_method:
            from interp_core.visualize import heatmap_overlay, image_to_uint8

            names = cards[ex_model].class_names
            for grid in cached_examples(ex_model, cards[ex_model].fingerprint, ex_method, int(size)):
                cols = st.columns(1 + min(4, len(grid.classes)))
                cols[0].image(image_to_uint8(grid.image), caption="grid", width=180)
                for i, (cls, score) in enumerate(zip(grid.classes[:4], grid.scores[:4])):
                    cols[i + 1].image(heatmap_overlay(image_to_uint8(grid.image), grid.maps[i].numpy()), width=180,
                                      caption=f"{names[cls]}: {score:.2f}")
