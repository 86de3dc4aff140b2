"""The Benchmark view's summary figure on hand-written rows: one spider chart per model·method, only the axes
that apply, a missing value as a gap (never 0), the model's references dashed on each of its charts."""
from __future__ import annotations

import pytest

from interp_core.evaluation import benchmark_views as views


def _row(model: str, method: str, family: str, completeness=None, correctness=None, contrastivity=None, bi=None):
    return {"model": model, "method": method, "family": family, "completeness": completeness,
            "correctness": correctness, "contrastivity": contrastivity, "bi": bi}


ROWS = [_row("cnn", "gradient", "posthoc", 0.41, 0.77, None, None),  # contrastivity measured only for lime
        _row("cnn", "lime", "posthoc", 0.52, 0.66, 0.31, None),
        _row("piq", "piq", "piq", 0.93, 0.88, 0.72, None),
        _row("cnn", "random", "reference", 0.12, 0.50, 0.05, None),
        _row("cnn", "oracle", "reference", 1.0, 1.0, 1.0, None),
        _row("piq", "random", "reference", 0.11, 0.49, 0.07, None)]


def _by_chart(fig) -> dict[str, list]:
    titles = [a.text for a in fig.layout.annotations]
    subplots = ["polar" if i == 0 else f"polar{i + 1}" for i in range(len(titles))]
    return {title: [t for t in fig.data if t.subplot == subplot] for title, subplot in zip(titles, subplots)}


def test_one_chart_per_method_with_its_models_references_dashed():
    charts = _by_chart(views.summary_figure(ROWS))
    assert list(charts) == ["gradient · cnn", "lime · cnn", "piq · piq"]
    assert sorted(t.name for t in charts["lime · cnn"]) == ["lime · cnn", "oracle", "random"]
    assert sorted(t.name for t in charts["piq · piq"]) == ["piq · piq", "random"]
    for traces in charts.values():
        assert all((t.line.dash is not None) == (t.name in ("random", "oracle")) for t in traces)
    piq_random = next(t for t in charts["piq · piq"] if t.name == "random")
    assert piq_random.r == (0.11, 0.49, 0.07, 0.11)  # the piq model's chance, not the cnn's


def test_an_axis_none_everywhere_is_left_out_and_a_single_none_is_a_gap():
    fig = views.summary_figure(ROWS)
    assert views.summary_axes(ROWS) == [("completeness", "Completeness"), ("correctness", "Correctness"),
                                        ("contrastivity", "Contrastivity")]
    gradient = next(t for t in fig.data if t.name == "gradient · cnn")
    assert gradient.theta == ("Completeness", "Correctness", "Contrastivity", "Completeness")
    assert gradient.r == (0.41, 0.77, None, 0.41)  # a gap on contrastivity, not a 0
    assert all("Background independence" not in t.theta for t in fig.data)
    for polar in (fig.layout[k] for k in fig.layout if k.startswith("polar")):
        assert tuple(polar.radialaxis.range) == (0, 1)
        assert tuple(polar.angularaxis.categoryarray) == ("Completeness", "Correctness", "Contrastivity")
    assert "%{r:.3f}" in gradient.hovertemplate


def test_one_axis_draws_a_single_point_per_outline():
    rows = [_row("cnn", "gradient", "posthoc", correctness=0.9), _row("cnn", "random", "reference", correctness=0.5)]
    fig = views.summary_figure(rows)
    assert [(t.name, t.theta, t.r) for t in fig.data] == [("random", ("Correctness",), (0.5,)),
                                                          ("gradient · cnn", ("Correctness",), (0.9,))]


def test_references_without_a_method_of_their_model_get_their_own_charts():
    references = [r for r in ROWS if r["family"] == "reference"]
    charts = _by_chart(views.summary_figure(references))
    assert list(charts) == ["random · cnn", "oracle · cnn", "random · piq"]
    assert all(len(traces) == 1 for traces in charts.values())


def test_the_height_grows_with_the_rows_of_charts():
    four = [_row("cnn", f"m{i}", "posthoc", correctness=0.5) for i in range(4)]
    five = [*four, _row("cnn", "m4", "posthoc", correctness=0.5)]
    one_row, two_rows = views.summary_figure(four, cols=4), views.summary_figure(five, cols=4)
    assert two_rows.layout.height > one_row.layout.height
    assert len([k for k in two_rows.layout if k.startswith("polar")]) == 5  # no empty chart in the last row


def test_no_applicable_axis_draws_no_outline_but_says_so():
    fig = views.summary_figure([_row("cnn", "gradient", "posthoc")])
    assert not fig.data
    assert "None of the summary axes" in fig.layout.annotations[0].text


@pytest.mark.parametrize("cols", [1, 3])
def test_every_chart_is_titled_method_dot_model(cols):
    charts = _by_chart(views.summary_figure(ROWS, cols=cols))
    assert list(charts) == ["gradient · cnn", "lime · cnn", "piq · piq"]
