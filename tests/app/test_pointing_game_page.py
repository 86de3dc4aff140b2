"""AppTest of the Pointing game view: run with progress, table, box plot, CSV, example grids."""
from __future__ import annotations

from page_runner import open_page


def test_pointing_game_page_runs_and_matches_the_library():
    from interp_core.evaluation.pointing import run_pointing_game

    at = open_page("pointing_game", timeout=300)
    at.multiselect[0].set_value(["cnn-shapes"])
    at.multiselect[1].set_value(["gradcam", "input_x_gradient"])
    at.radio[0].set_value(2)
    at.number_input[0].set_value(6)
    at.run()
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value.set_index("method")
    expected = run_pointing_game(["cnn-shapes"], ["gradcam", "input_x_gradient"], n_grids=6, size=2)
    for row in expected["results"]:
        assert abs(table.loc[row["method"], "mean"] - row["mean"]) < 1e-9
        assert table.loc[row["method"], "n"] == 24
    assert any("Chance level: 0.250" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1
    assert [b.label for b in at.get("download_button")] == ["Download scores (CSV)", "Download summary (CSV)"]
