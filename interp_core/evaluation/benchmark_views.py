"""What the Benchmark view shows, built from a benchmark result (:func:`interp_core.evaluation.benchmark.run_benchmark`
or the recorded one): the table of methods x metrics, FunnyBirds' summary chart per method, and the
drill-down of one input. Torch-free: a recorded result opens without importing torch."""
from __future__ import annotations

from typing import Any, Sequence

#: The table's columns after model, method and family: (result key, column label).
COLUMNS = (("completeness", "completeness"), ("correctness", "correctness (SD)"), ("contrastivity", "contrastivity (TS)"),
           ("csdc", "CSDC"), ("pc", "PC"), ("dc", "DC"), ("d", "D"), ("bi", "BI"),
           ("completeness_best", "completeness, best t"), ("csdc_best", "CSDC, best t"), ("pc_best", "PC, best t"),
           ("dc_best", "DC, best t"), ("d_best", "D, best t"), ("randomisation", "randomisation ρ ↓"),
           ("sparseness", "sparseness (Gini)"), ("pointing_game", "pointing game"), ("images", "inputs"))
#: How the table shows its numbers (see app.report.column_config).
FORMATS = {label: "%.3f" for key, label in COLUMNS if key != "images"}
#: The axes of the summary chart, as FunnyBirds' spider plot draws them (accuracy left out: model-only).
SUMMARY_AXES = (("completeness", "Completeness"), ("correctness", "Correctness"), ("contrastivity", "Contrastivity"),
                ("bi", "Background independence"))


def all_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The method rows and the reference rows (``family`` "reference") of a result, in that order."""
    return [*result.get("rows", []), *result.get("references", [])]


def families(result: dict[str, Any]) -> list[str]:
    """The families a result covers, in the order they appear (the references last)."""
    return list(dict.fromkeys(r["family"] for r in all_rows(result)))


def models(result: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(r["model"] for r in all_rows(result)))


def chosen(result: dict[str, Any], chosen_families: Sequence[str] | None = None,
           chosen_models: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The rows of ``result`` (its references included) of the chosen families and models (None: all)."""
    return [row for row in all_rows(result)
            if (chosen_families is None or row["family"] in chosen_families)
            and (chosen_models is None or row["model"] in chosen_models)]


def provenance(result: dict[str, Any], recorded: bool) -> str:
    """Where ``result`` comes from and its sizes: ``Recorded on <date> ...`` for the shipped result (``recorded``)
    or ``Computed now in <n> s`` for a run of this session. Any key may be missing (an older file)."""
    config = result.get("config", {})
    source = (f"Recorded on {result.get('date', 'an unknown date')} (shipped with the weights it was computed on)"
              if recorded else f"Computed now in {result.get('seconds', 0):.0f} s")
    return (f"{source} · {config.get('images', '?')} inputs per method ({config.get('costly_images', '?')} for costly ones) "
            f"· parts normalised by {config.get('normalise', '?')} mass.")


def table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Result rows as the view's table rows (labelled columns)."""
    return [{"model": r["model"], "method": r["method"], "family": r["family"], **{label: r.get(key) for key, label in COLUMNS}}
            for r in rows]


def summary_axes(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The :data:`SUMMARY_AXES` that apply to ``rows``: those with a value on at least one row (on sounds-mix
    only correctness; completeness, contrastivity and background independence are None there)."""
    return [(key, label) for key, label in SUMMARY_AXES if any(row.get(key) is not None for row in rows)]


#: How each reference row outlines the charts of its model: faint, dashed, grey to black towards the ceiling.
REFERENCE_LINES = {"random": dict(color="#9e9e9e", dash="dash"), "uniform": dict(color="#9e9e9e", dash="dot"),
                   "oracle": dict(color="#424242", dash="dash")}


def summary_figure(rows: list[dict[str, Any]], *, cols: int = 4, row_height: int = 270):
    """FunnyBirds' summary figure as small multiples: one spider chart per model·method, titled "method · model",
    over the :func:`summary_axes` that apply to ``rows`` (every radius 0-1). A None on one row is a gap in its
    outline, never a 0; an axis that is None on every row is not drawn at all.

    The reference rows (family "reference": random, uniform, oracle) are drawn as a faint dashed outline on every
    chart of their model, so chance and the ceiling (oracle) sit beside each method; a reference whose model has
    no method among ``rows`` (only the reference family chosen) gets its own chart at the end instead. One figure:
    ``cols`` charts a row, ``row_height`` pixels per row of charts; the hover gives every value to 3 decimals."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    axes = summary_axes(rows)
    if not axes:
        fig = go.Figure()
        fig.add_annotation(text="None of the summary axes (" + ", ".join(label for _, label in SUMMARY_AXES)
                           + ") applies to these rows.", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_layout(height=120, xaxis_visible=False, yaxis_visible=False, margin=dict(l=10, r=10, t=10, b=10))
        return fig
    methods = [row for row in rows if row["family"] != "reference"]
    with_methods = {row["model"] for row in methods}
    references = [row for row in rows if row["family"] == "reference"]
    charts = [*methods, *(row for row in references if row["model"] not in with_methods)]
    cols = max(1, min(cols, len(charts)))
    n_rows = -(-len(charts) // cols)
    cells = [{"type": "polar"} if i < len(charts) else None for i in range(n_rows * cols)]
    fig = make_subplots(rows=n_rows, cols=cols, specs=[cells[r * cols:(r + 1) * cols] for r in range(n_rows)],
                        subplot_titles=[f"{row['method']} · {row['model']}" for row in charts],
                        horizontal_spacing=0.09, vertical_spacing=min(0.3, 0.35 / n_rows))
    labels = [label for _, label in axes]
    closed = labels + labels[:1] if len(labels) > 1 else labels
    palette = {family: qualitative.Plotly[i % len(qualitative.Plotly)]
               for i, family in enumerate(dict.fromkeys(row["family"] for row in methods))}
    in_legend: set[str] = set()

    def outline(row: dict[str, Any], chart: int, **style) -> None:
        values = [None if row.get(key) is None else float(row[key]) for key, _ in axes]
        fig.add_trace(go.Scatterpolar(r=values + values[:1] if len(values) > 1 else values, theta=closed,
                                      mode="lines+markers", marker=dict(size=5),
                                      hovertemplate=f"%{{theta}}: %{{r:.3f}}<extra>{row['method']} · {row['model']}</extra>",
                                      **style), row=chart // cols + 1, col=chart % cols + 1)

    for chart, row in enumerate(charts):
        if row["family"] != "reference":
            for reference in (r for r in references if r["model"] == row["model"]):
                shown = reference["method"] not in in_legend
                in_legend.add(reference["method"])
                outline(reference, chart, name=reference["method"], legendgroup=reference["method"], showlegend=shown,
                        opacity=0.6, line=dict(width=1, **REFERENCE_LINES.get(reference["method"], dict(dash="dash"))))
            outline(row, chart, name=f"{row['method']} · {row['model']}", showlegend=False, fill="toself",
                    line=dict(color=palette[row["family"]], width=2))
        else:
            outline(row, chart, name=f"{row['method']} · {row['model']}", showlegend=False,
                    line=dict(width=1.5, **REFERENCE_LINES.get(row["method"], dict(dash="dash"))))
    fig.update_polars(radialaxis=dict(range=[0, 1], tickvals=[0.25, 0.5, 0.75, 1.0], tickfont=dict(size=8)),
                      angularaxis=dict(categoryorder="array", categoryarray=labels, rotation=90, direction="clockwise",
                                       tickfont=dict(size=9)))
    fig.update_annotations(font=dict(size=12), yshift=14)
    # the legend sits above the first row's titles: 40 px over a plot area of row_height per row of charts
    fig.update_layout(height=110 + row_height * n_rows, margin=dict(l=50, r=50, t=80, b=30),
                      legend=dict(title="references", orientation="h", y=1 + 40 / (row_height * n_rows),
                                  yanchor="bottom", x=1.0, xanchor="right"))
    return fig


def importance_table(drill: dict[str, Any]) -> list[dict[str, Any]]:
    """The drill-down's items: the map's share of positive mass on each beside the label's true score drop."""
    return [{"item": e["item"], "map share": e["share"], "signed mass": e["signed"], "true score drop": e["true_drop"]}
            for e in drill["importance"]]


DRILL_FORMATS = {"map share": "%.3f", "signed mass": "%.3g", "true score drop": "%.3f"}


def intervention_caption(entry: dict[str, Any], class_names: Sequence[str]) -> str:
    """``without beak: score 3.21 (−1.05), predicts c07 ...``"""
    return (f"without {entry['removed']}: score {entry['score']:.2f} ({entry['change']:+.2f}), "
            f"predicts {class_names[entry['prediction']]}")


def drill_pairs(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """The ``(model, method)`` pairs of ``rows`` that one input up close can show (not the reference rows)."""
    return [(r["model"], r["method"]) for r in rows if r["family"] != "reference"]


def prepare_inputs(benchmark: str) -> None:
    """The test inputs of ``benchmark`` generated into the disk cache (the warm-up runs it in a background process)."""
    from interp_core.evaluation.interventions import get_suite

    get_suite(benchmark).split()


def warm_up(context) -> None:
    """The Benchmark view's default, warmed at server start (:mod:`interp_core.evaluation.warmup`): the summary
    chart of the first recorded benchmark over every family and model (the table and captions cost nothing); and
    once every view's default is warm, its first pair's look at test input 0, the benchmark's test inputs generated
    first into the disk cache by a background process (seconds in an empty cache)."""
    from interp_core.evaluation import benchmark as bench

    for name in bench.DEFAULTS:
        result = bench.read_results(name)
        if result is not None:
            rows = chosen(result, families(result), models(result))
            context.chart(summary_figure(rows))
            if pairs := drill_pairs(rows):
                model, method = pairs[0]
                context.later(f"preparing the {name} test inputs", lambda: context.background(f"{__name__}:prepare_inputs", name))
                context.later(f"explaining one {name} input up close",
                              lambda: context.call(bench.drill_down, model, method, 0, name, models=(model,)))
            return
