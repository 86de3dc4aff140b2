"""The B-cos view's tables and charts, built from what :mod:`interp_core.methods.bcos.views` computes."""
from __future__ import annotations

from typing import Any

ACCURACY = "test accuracy (recorded at training)"
LOCALISATION = "localisation (pointing game mean)"


def ablation_table(rows: list[dict]) -> list[dict[str, Any]]:
    """Rows of :func:`interp_core.evaluation.ablation.localisation_per_setting` (the setting is B) as the
    view's table."""
    return [{"B": r["setting"], ACCURACY: r["accuracy"], LOCALISATION: r["localisation"], "median": r["median"],
             "grids": r["grids"], "model": r["recipe"]} for r in rows]


def ablation_figure(rows: list[dict]):
    """B-cos Fig. 5: accuracy and localisation against B (a plotly figure)."""
    import plotly.graph_objects as go

    b = [r["setting"] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=b, y=[r["accuracy"] for r in rows], mode="lines+markers", name="test accuracy"))
    fig.add_trace(go.Scatter(x=b, y=[r["localisation"] for r in rows], mode="lines+markers", name="localisation"))
    fig.update_layout(title="B ablation (B-cos Fig. 5): accuracy and localisation per B", xaxis_title="B",
                      yaxis_title="fraction", yaxis_range=[0, 1.02], height=360, margin=dict(t=50, b=40, l=50, r=20))
    return fig


def fine_tuning_figure(rows: list[dict]):
    """Validation accuracy against training seconds of a B-cosified model's fine-tuning (from the converted
    model at 0 s) beside its from-scratch twin's training, rows of
    :func:`interp_core.methods.bcos.views.fine_tuning_curves` (a plotly figure)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for model in dict.fromkeys(r["model"] for r in rows):
        own = [r for r in rows if r["model"] == model]
        fig.add_trace(go.Scatter(x=[r["seconds"] for r in own], y=[r["val_accuracy"] for r in own], mode="lines+markers",
                                 name=model, text=[f"epoch {r['epoch']}" for r in own]))
    fig.update_layout(title="Validation accuracy per epoch: fine-tuning vs training from scratch", xaxis_title="seconds of training",
                      yaxis_title="validation accuracy", yaxis_range=[0, 1.02], height=360, margin=dict(t=50, b=40, l=50, r=20))
    return fig
