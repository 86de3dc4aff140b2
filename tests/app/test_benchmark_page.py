"""AppTest of the Benchmark view on the shipped (recorded) results: the caption that dates them, the table
and the summary charts (one per model·method) against the recorded rows, the filters, a shared link, the drill-down against the
library's, and the first render from the shipped results (torch-free, under 5 s).

Every check runs for each benchmark that has a recorded result for today's weights
(``assets/benchmarks/<benchmark>.json``); one without is skipped with the reason."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from page_runner import INTERACTIVE_CHARTS, ROOT, image_captions
from streamlit.testing.v1 import AppTest

from interp_core.evaluation import benchmark as bench
from interp_core.evaluation import benchmark_views as views

PAGE = str(ROOT / "pages" / "benchmark.py")
#: Recorded keys and the table's column labels, written out here rather than taken from the view's own list.
SHOWN = {"completeness": "completeness", "correctness": "correctness (SD)", "contrastivity": "contrastivity (TS)",
         "pc": "PC", "d": "D", "bi": "BI", "sparseness": "sparseness (Gini)", "images": "inputs"}
#: The summary charts' axes as FunnyBirds names them: recorded key -> axis label, written out here too.
AXES = {"completeness": "Completeness", "correctness": "Correctness", "contrastivity": "Contrastivity",
        "bi": "Background independence"}
#: The axes the sounds-mix benchmark cannot measure (no parts to complete, no contrast class, no background).
NOT_ON_SOUNDS = ("completeness", "contrastivity", "bi")


@pytest.fixture(params=tuple(bench.DEFAULTS))
def recorded(request) -> tuple[str, dict]:
    name = request.param
    result = bench.read_results(name)
    if result is None:
        pytest.skip(f"no recorded {name} result for today's weights ({bench.results_path(name).relative_to(ROOT)} "
                    f"is missing or was computed on other weights)")
    return name, result


def _open(params: dict | None = None) -> AppTest:
    """The dashboard opened straight onto the Benchmark view (as a link to /benchmark opens it), with ``params``
    in the link; nothing raised or shown as an error."""
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.switch_page(PAGE)
    at.query_params.update(params or {})
    at.session_state[INTERACTIVE_CHARTS] = True  # the spider charts as plotly figures, whose data the tests read
    at.run()
    _no_errors(at)
    return at


def _no_errors(at: AppTest) -> None:
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]


def _param(at: AppTest, name: str) -> list[str]:
    value = at.query_params.get(name)
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _same(shown, expected) -> bool:
    """A table cell equals a recorded value (None shows as an empty cell)."""
    if expected is None:
        return shown is None or (isinstance(shown, float) and math.isnan(shown))
    if isinstance(expected, str):
        return shown == expected
    return shown == pytest.approx(expected, rel=1e-12, abs=1e-12)


def _charts(figure: dict) -> dict[str, list[dict]]:
    """The summary figure's spider charts by their title ("method · model"): the traces drawn on each. A title
    belongs to the polar subplot whose domain it is centred above."""
    layout = figure["layout"]
    polars = {key: layout[key]["domain"] for key in layout if key.startswith("polar")}
    charts = {}
    for title in layout.get("annotations", []):
        polar = next(key for key, d in polars.items()
                     if title["x"] == pytest.approx(sum(d["x"]) / 2) and title["y"] == pytest.approx(d["y"][1]))
        charts[title["text"]] = [t for t in figure["data"] if t.get("subplot", "polar") == polar]
    return charts


def _values(trace: dict) -> dict[str, float | None]:
    """A spider outline as axis label -> radius (its closing point dropped); a gap is None."""
    assert trace["type"] == "scatterpolar"
    return dict(zip(trace["theta"], trace["r"]))


def _check_summary(figure: dict, name: str, rows: list[dict]) -> None:
    """One chart per model·method with exactly the recorded values on the axes that apply, the model's
    references dashed on it, no inapplicable axis, no None drawn as 0, every radius 0-1, hover to 3 decimals."""
    applicable = {label for key, label in AXES.items() if any(r.get(key) is not None for r in rows)}
    if name == "sounds-mix":  # the recorded file itself: three of FunnyBirds' four axes do not apply
        assert all(r.get(key) is None for r in rows for key in NOT_ON_SOUNDS)
        assert applicable == {"Correctness"}
    methods = [r for r in rows if r["family"] != "reference"]
    charts = _charts(figure)
    assert list(charts) == [f"{r['method']} · {r['model']}" for r in methods]
    for row in methods:
        traces = charts[f"{row['method']} · {row['model']}"]
        references = {r["method"]: r for r in rows if r["family"] == "reference" and r["model"] == row["model"]}
        assert sorted(t["name"] for t in traces) == sorted([f"{row['method']} · {row['model']}", *references])
        for trace in traces:
            recorded = row if trace["name"] == f"{row['method']} · {row['model']}" else references[trace["name"]]
            assert (trace["line"].get("dash") is not None) == (recorded is not row)  # references dashed
            assert set(trace["theta"]) == applicable, (trace["name"], trace["theta"])
            for key, label in AXES.items():
                if label in applicable:
                    want = recorded.get(key)
                    got = _values(trace)[label]
                    assert got is None if want is None else got == pytest.approx(want, rel=1e-12), (trace["name"], label)
            assert ":.3f}" in trace["hovertemplate"]
    for key in (k for k in figure["layout"] if k.startswith("polar")):
        polar = figure["layout"][key]
        assert polar["radialaxis"]["range"] == [0, 1]
        assert set(polar["angularaxis"]["categoryarray"]) == applicable


def test_the_recorded_result_opens_dated_with_the_recorded_numbers(recorded):
    name, result = recorded
    at = _open({"benchmark": name})
    assert at.selectbox(key="bm-benchmark").value == name
    assert any(c.value.startswith(f"Recorded on {result['date']} ") for c in at.caption), [c.value for c in at.caption]
    table = at.dataframe[0].value
    rows = [*result["rows"], *result["references"]]
    assert len(table) == len(rows)
    by_pair = table.set_index(["model", "method"])
    for row in rows:  # every model·method straight from the recorded file
        shown = by_pair.loc[(row["model"], row["method"])]
        assert shown["family"] == row["family"]
        for key, label in SHOWN.items():
            assert _same(shown[label], row.get(key)), (row["model"], row["method"], label, shown[label], row.get(key))
    for got, want in zip(table.to_dict("records"), views.table(views.chosen(result))):  # every cell, the library's order
        assert got.keys() == want.keys()
        assert all(_same(got[column], value) for column, value in want.items()), (got, want)
    _check_summary(json.loads(at.get("plotly_chart")[0].proto.spec), name, rows)
    labels = [b.label for b in at.get("download_button")]
    assert "CSV" in labels and "Download report (HTML)" in labels


def test_the_view_opens_on_a_benchmark_that_has_a_recorded_result():
    with_result = [name for name in bench.DEFAULTS if bench.read_results(name) is not None]
    if not with_result:
        pytest.skip("no benchmark has a recorded result for today's weights")
    at = _open()
    assert at.selectbox(key="bm-benchmark").value == with_result[0]
    assert _param(at, "benchmark") == [with_result[0]]
    assert any(c.value.startswith("Recorded on ") for c in at.caption)
    assert len(at.dataframe) == 1 and not at.info


def test_the_filters_keep_only_the_chosen_family_and_model(recorded):
    name, result = recorded
    at = _open({"benchmark": name})
    family = next(f for f in views.families(result) if f != "reference")
    at.multiselect(key=f"bm-families-{name}").set_value([family]).run()
    _no_errors(at)
    table = at.dataframe[0].value
    assert set(table["family"]) == {family}
    assert len(table) == sum(r["family"] == family for r in views.all_rows(result))
    assert _param(at, "families") == [family]
    model = table["model"].iloc[-1]
    at.multiselect(key=f"bm-models-{name}").set_value([model]).run()
    _no_errors(at)
    table = at.dataframe[0].value
    assert set(table["model"]) == {model} and set(table["family"]) == {family}
    assert len(table) == sum(r["family"] == family and r["model"] == model for r in views.all_rows(result))
    charts = _charts(json.loads(at.get("plotly_chart")[0].proto.spec))
    assert list(charts) == [f"{method} · {model}" for method, model in zip(table["method"], table["model"])]
    at.multiselect(key=f"bm-families-{name}").set_value([]).run()
    _no_errors(at)
    assert not at.dataframe and not at.get("plotly_chart")
    assert "choose at least one of each" in at.info[0].value
    assert _param(at, "families") == ["-"]


def _pair_to_look_at(result: dict) -> dict:
    """A deterministic, quick method row: the plain gradient where there is one."""
    rows = [r for r in result["rows"] if not r.get("costly")]
    return next((r for r in rows if r["method"] == "gradient"), rows[0])


def test_a_link_opens_the_same_selection_and_the_drill_down_agrees_with_the_library(recorded):
    name, result = recorded
    row = _pair_to_look_at(result)
    index = min(3, result["config"]["test_inputs"] - 1)
    params = {"benchmark": name, "families": [row["family"]], "models": [row["model"]], "look": "1",
              "pair": f"{row['model']}:{row['method']}", "input": str(index)}
    at = _open(params)
    assert at.selectbox(key="bm-benchmark").value == name
    assert at.multiselect(key=f"bm-families-{name}").value == [row["family"]]
    assert at.multiselect(key=f"bm-models-{name}").value == [row["model"]]
    assert at.toggle(key="bm-look").value is True
    assert at.selectbox(key=f"bm-pair-{name}").value == (row["model"], row["method"])
    assert at.number_input(key=f"bm-input-{name}").value == index
    for key, value in params.items():  # the page writes the same state back into the link
        assert _param(at, key) == (value if isinstance(value, list) else [value])

    drill = bench.drill_down(row["model"], row["method"], index, name)
    importance = at.dataframe[1].value
    assert list(importance["item"]) == [e["item"] for e in drill["importance"]]
    for column, key in (("map share", "share"), ("signed mass", "signed"), ("true score drop", "true_drop")):
        assert importance[column].tolist() == pytest.approx([e[key] for e in drill["importance"]], rel=1e-5, abs=1e-9)
    assert 0.0 <= sum(importance["map share"]) <= 1.0 + 1e-9  # shares of the map's positive mass, some of it off the items
    captions = image_captions(at)
    assert f"test input {index}" in captions
    for entry in drill["interventions"]:  # every re-rendered intervention with the score it changed
        assert views.intervention_caption(entry, drill["class_names"]) in captions
    names = drill["class_names"]
    assert any(f"label **{names[drill['label']]}**, predicted **{names[drill['prediction']]}**" in m.value for m in at.markdown)

    at.toggle(key="bm-look").set_value(False).run()  # and back: the link says so, the drill-down is gone
    _no_errors(at)
    assert _param(at, "look") == ["0"] and len(at.dataframe) == 1


def test_a_recorded_result_missing_keys_still_opens(monkeypatch):
    """An older or hand-written file without date, config, notes or most metrics: no KeyError, a plain label."""
    result = {"benchmark": "sounds-mix", "fingerprints": {"cnn-sounds": "0"},
              "rows": [{"model": "cnn-sounds", "method": "gradient", "family": "posthoc", "pc": 0.25}]}
    monkeypatch.setattr(bench, "read_results", lambda benchmark, path=None: result if benchmark == "sounds-mix" else None)
    at = _open()
    assert at.selectbox(key="bm-benchmark").value == "sounds-mix"
    assert any(c.value.startswith("Recorded on an unknown date") for c in at.caption), [c.value for c in at.caption]
    table = at.dataframe[0].value
    assert len(table) == 1 and table["PC"].iloc[0] == 0.25 and _same(table["completeness"].iloc[0], None)


FIRST_RENDER = """
import json, sys, time
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.switch_page(sys.argv[2])
at.query_params["benchmark"] = sys.argv[3]
at.run()
print(json.dumps({"seconds": time.perf_counter() - start, "torch": "torch" in sys.modules, "tables": sum("<table" in e.proto.body for e in at.get("html")),
                  "problems": [str(e.value) for e in [*at.exception, *at.error]]}))
"""


def test_the_first_render_from_the_shipped_results_is_torch_free(recorded):
    """In a fresh process (cold imports): the recorded result opens without torch or any model (its time is
    measured by ``bench views``, not asserted here)."""
    name, _ = recorded
    done = subprocess.run([sys.executable, "-c", FIRST_RENDER, str(ROOT / "app" / "main.py"), PAGE, name], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert not out["problems"] and out["tables"] == 1, out
    assert not out["torch"]
