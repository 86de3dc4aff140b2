"""AppTest of the Pointing game view: run with progress, table, box plot, CSV, example grids, repeated runs."""
from __future__ import annotations

from page_runner import image_captions, open_page

METHODS = ["gradcam", "input_x_gradient"]


def _configured(at, grids: int = 6):
    at.multiselect(key="pg-models").set_value(["cnn-shapes"])
    at.multiselect(key="pg-methods").set_value(METHODS)
    at.radio(key="pg-grid").set_value(2)
    at.number_input(key="pg-grids").set_value(grids)
    return at.run()


def test_pointing_game_page_runs_and_matches_the_library():
    from interp_core.evaluation.pointing import run_pointing_game

    at = _configured(open_page("pointing_game", timeout=300))
    at.button(key="pg-run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value.set_index("method")
    expected = run_pointing_game(["cnn-shapes"], METHODS, n_grids=6, size=2)
    for row in expected["results"]:
        assert abs(table.loc[row["method"], "mean"] - row["mean"]) < 1e-9
        assert table.loc[row["method"], "n"] == 24
    assert any("Chance level: 0.250" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1
    labels = [b.label for b in at.get("download_button")]
    assert "Download scores (CSV)" in labels and "CSV" in labels and "PNG" in labels
    # Example grids: the grid and one map per cell (all 4 classes of a 2x2 grid, not a subset), per grid.
    captions = [c for c in image_captions(at) if c.startswith("grid ")]
    for g in (1, 2):
        per_grid = [c for c in captions if c.startswith(f"grid {g} ·")]
        assert len(set(per_grid)) == 1 + 4, per_grid
        assert sum("(cell " in c for c in set(per_grid)) == 4


def test_a_repeated_run_comes_back_from_the_cache_in_any_session():
    """Run twice with the same settings, then once more from a fresh session: no CacheReplayClosureError,
    and the repeated runs score no grid anew (every grid comes back from the cache)."""
    first = _configured(open_page("pointing_game", timeout=300), grids=3)
    first.button(key="pg-run").click().run()
    first.button(key="pg-run").click().run()
    assert not first.exception, [e.value for e in first.exception]
    table = first.dataframe[0].value
    second = _configured(open_page("pointing_game", timeout=300), grids=3)
    second.button(key="pg-run").click().run()
    assert not second.exception, [e.value for e in second.exception]
    assert not second.error, [e.value for e in second.error]
    again = second.dataframe[0].value
    assert list(again["mean"]) == list(table["mean"])
    result = second.session_state["pointing_game"][1]
    assert all(row["cached_grids"] == row["grids"] == 3 for row in result["results"]), result["results"]


def test_settings_come_from_a_shared_link():
    from streamlit.testing.v1 import AppTest

    from page_runner import ROOT

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=300)
    at.query_params.update({"models": "cnn-shapes", "methods": ["gradcam"], "grid": "2", "grids": "4"})
    at.run()
    at.switch_page(str(ROOT / "pages" / "pointing_game.py"))
    at.query_params.update({"models": "cnn-shapes", "methods": ["gradcam"], "grid": "2", "grids": "4"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="pg-models").value == ["cnn-shapes"]
    assert at.multiselect(key="pg-methods").value == ["gradcam"]
    assert at.radio(key="pg-grid").value == 2
    assert at.number_input(key="pg-grids").value == 4
