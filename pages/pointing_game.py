"""Pointing game: localisation scores of any method on grids of test images (B-cos paper, Sec. 4)."""
import streamlit as st

from app.models import cached_model
from app.report import Report, map_png, plotly_config, show_map, show_table
from app.shell import guarded
from app.url import UrlState

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
from interp_core.evaluation.pointing_views import SCORE_FORMATS, record_grid_seconds, run_estimate, scores_figure  # noqa: E402
from interp_core.metrics.pointing_game import COSTLY_GRIDS  # noqa: E402
from interp_core.progress import format_duration  # noqa: E402

report = Report("Grid pointing game")
url = UrlState()


# No element is drawn inside a cached function on this page: Streamlit replays the elements a cached
# function drew, and replaying one drawn into a block made outside the function (a progress bar, a
# column) fails with CacheReplayClosureError on the next cache hit, in any browser session.
@st.cache_data(show_spinner="Explaining example grids…", max_entries=32)
def cached_examples(model: str, fingerprint: str, method: str, size: int):
    # ``fingerprint`` only keys the cache: retrained weights never reuse old example maps.
    return example_grids(model, method, size=size, count=2)


@st.cache_data(show_spinner=False, max_entries=256)
def example_pictures(model: str, fingerprint: str, method: str, size: int, names: tuple) -> list:
    """Per example grid: the grid with its cells and, per cell, the map of that cell's class over the grid
    with the target cell framed, as ``(png, caption)``."""
    from interp_core.visualize import image_to_uint8

    out = []
    for grid in cached_examples(model, fingerprint, method, size):
        base = image_to_uint8(grid.image)
        pictures = [(map_png("input", base=base, cells=size, width=2.0), "grid")]
        for i, (cls, score) in enumerate(zip(grid.classes, grid.scores)):
            pictures.append((map_png("positive", grid.maps[i].numpy(), base=base, scale="positive", cells=size, mark_cell=i, width=2.0),
                             f"{names[cls]} (cell {i // size + 1},{i % size + 1}): {score:.2f}"))
        out.append(pictures)
    return out


with guarded("The pointing game"):
    from interp_core.methods.base import available_explainers, explainer_class

    models_all = pointing_models()
    default_models, default_methods = default_selection(models_all)
    models = st.multiselect("Models", models_all, default=url.defaults("models", models_all, default_models), key="pg-models")
    url.share("models", models)
    cards = {name: cached_model(name).card for name in models}
    supported = {m: [name for name in models if explainer_class(m).supports(cards[name])] for m in available_explainers()}
    offered = [m for m, names in supported.items() if names]
    methods = st.multiselect("Methods", offered, default=url.defaults("methods", offered, [m for m in default_methods if m in offered]),
                             key="pg-methods")
    url.share("methods", methods)
    c1, c2 = st.columns(2)
    size = c1.radio("Grid", [3, 2], index=url.index("grid", [3, 2]), format_func=lambda s: f"{s}×{s}", horizontal=True, key="pg-grid")
    url.share("grid", size)
    n_grids = c2.number_input("Grids", 1, 500, url.number("grids", 1, 500, 50), key="pg-grids",
                              help=f"The paper uses 500. Costly methods (IG, LIME, RISE) use at most {COSTLY_GRIDS}.")
    url.share("grids", int(n_grids))
    config = (tuple(models), tuple(cards[m].fingerprint for m in models), tuple(methods), int(n_grids), int(size))

    # The estimate before the run: measured seconds per grid of each pair on this machine (an upper
    # bound: grids already scored for these weights come from the cache).
    pairs = [(m, meth) for meth in methods for m in supported.get(meth, [])]
    estimate, unknown = run_estimate(pairs, int(n_grids), int(size))
    if pairs:
        st.caption(f"Estimated time: at most {format_duration(estimate, about=True)} for the measured pairs (seconds per grid measured by "
                   "earlier runs here; grids already scored for these weights come back from the cache at once)"
                   + (f"; not measured yet: {', '.join(unknown)} (the progress bar shows their pace)." if unknown else "."))
    if st.button("Run", type="primary", disabled=not (models and methods), key="pg-run"):
        bar = st.progress(0.0, text="Starting…")

        def report_progress(step):
            bar.progress(min(1.0, step.fraction), text=step.message)

        # The library caches every grid's scores on disk by weights fingerprint: a repeated run is instant.
        result = run_pointing_game(list(models), list(methods), n_grids=int(n_grids), size=int(size), progress=report_progress,
                                   train_if_missing=False)
        record_grid_seconds(result, int(size))
        st.session_state["pointing_game"] = (config, result)
        bar.progress(1.0, text="Done (scores are cached per grid: a repeated or resumed run comes back instantly)")
    if st.session_state.get("pointing_game", (None,))[0] == config:
        result = st.session_state["pointing_game"][1]
        for note in result["notes"]:
            st.info(note)
        report.text(f"{int(n_grids)} grids of {size}×{size}; models: {', '.join(models)}; methods: {', '.join(methods)}.")
        show_table(st, scores_table(result), "pointing-game scores per model and method", report=report, key="pg-summary",
                   width="stretch", formats=SCORE_FORMATS)
        st.caption(f"Chance level: {1 / size ** 2:.3f}")
        long = long_scores(result)
        fig = scores_figure(long, int(size))
        st.plotly_chart(fig, width="stretch", config=plotly_config("pointing-game"), key="pg-box")
        report.plotly(fig, "Localisation per method and model (chance dotted)")
        import pandas as pd

        st.download_button("Download scores (CSV)", lambda rows=long: pd.DataFrame(rows).to_csv(index=False), "pointing_game.csv", "text/csv",
                           on_click="ignore", key="pg-scores-csv")

        st.subheader("Example grids")
        e1, e2 = st.columns(2)
        ex_model = e1.selectbox("Model", models, index=url.index("example_model", models), key="pg-example-model")
        url.share("example_model", ex_model)
        ex_methods = [m for m in methods if ex_model in supported[m]]
        ex_method = e2.selectbox("Method", ex_methods, index=url.index("example_method", ex_methods), key="pg-example-method")
        if ex_method:
            url.share("example_method", ex_method)
            names = tuple(cards[ex_model].class_names)
            st.caption(f"{ex_method} on {ex_model}: every cell's class explained over the whole grid (its cell framed in "
                       "green); colour: the positive attribution the game scores, from 0 to its 99.5th percentile; the "
                       "number is the share of positive attribution inside the framed cell.")
            for g, pictures in enumerate(example_pictures(ex_model, cards[ex_model].fingerprint, ex_method, int(size), names)):
                per_row = size + 1
                for start in range(0, len(pictures), per_row):
                    cols = st.columns(per_row)
                    for col, (k, (png, caption)) in zip(cols, enumerate(pictures[start:start + per_row], start)):
                        show_map(col, png, f"grid {g + 1} · {caption}", report=report, key=f"pg-example-{g}-{k}")
report.offer()
