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
