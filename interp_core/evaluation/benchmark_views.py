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


def summary_figure(rows: list[dict[str, Any]], *, height: int = 420):
    """FunnyBirds' summary figure: one closed polygon per result row over :data:`SUMMARY_AXES` (0-1), the
    reference rows dotted."""
    import plotly.graph_objects as go

    axes = [label for _, label in SUMMARY_AXES]
    fig = go.Figure()
    for row in rows:
        values = [0.0 if row.get(key) is None else float(row[key]) for key, _ in SUMMARY_AXES]
        reference = row["family"] == "reference"
        fig.add_trace(go.Scatterpolar(r=values + values[:1], theta=axes + axes[:1], name=f"{row['method']} · {row['model']}",
                                      line=dict(dash="dot" if reference else "solid"), fill=None if reference else "toself",
                                      opacity=0.85))
    fig.update_layout(height=height, polar=dict(radialaxis=dict(range=[0, 1], tickvals=[0.25, 0.5, 0.75, 1.0])),
                      margin=dict(l=40, r=40, t=30, b=30), legend=dict(font=dict(size=10)))
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
