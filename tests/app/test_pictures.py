"""Shipped pictures (``assets/pictures``, ``python -m app.ship_pictures``), kept figures and the cheaper store reads
every page run makes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from page_runner import count_pictures_drawn

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_shipped_picture_is_used_only_under_its_own_key(tmp_path):
    from app.report import Pictures, map_key

    values = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    key = map_key("heat", values, {"title": "x"})
    (tmp_path / f"{key}.png").write_bytes(PNG + b"shipped")
    drawn: list[str] = []

    def draw(name):
        return lambda: drawn.append(name) or PNG + name.encode()

    pictures = Pictures(folder=tmp_path)
    assert pictures.get(key, draw("same")) == PNG + b"shipped" and drawn == []
    # Other values, other options: drawn, never the shipped picture.
    assert pictures.get(map_key("heat", values * 2, {"title": "x"}), draw("values")) == PNG + b"values"
    assert pictures.get(map_key("heat", values, {"title": "y"}), draw("options")) == PNG + b"options"
    # A shipped file that is not a PNG is drawn again.
    broken = map_key("heat", values, {"title": "z"})
    (tmp_path / f"{broken}.png").write_bytes(b"<html>")
    assert pictures.get(broken, draw("broken")) == PNG + b"broken"
    assert drawn == ["values", "options", "broken"]
    # Without a folder nothing is read.
    assert Pictures().get(key, draw("none")) == PNG + b"none"


def test_the_key_covers_the_drawing_code_and_matplotlib(monkeypatch):
    """A picture drawn by other drawing code, or another matplotlib, never answers for today's."""
    import importlib.metadata

    from app import report

    values = np.ones((3, 3), dtype=np.float32)
    today = report.map_key("heat", values, {}), report.chart_key("{}", 900)
    monkeypatch.setattr(report, "_VERSION", [])
    assert report.drawing_version() == report._VERSION[0]
    assert (report.map_key("heat", values, {}), report.chart_key("{}", 900)) == today  # same code, same keys
    version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0" if name == "matplotlib" else version(name))
    monkeypatch.setattr(report, "_VERSION", [])
    assert report.map_key("heat", values, {}) != today[0] and report.chart_key("{}", 900) != today[1]


def test_the_shipped_benchmark_chart_is_current(monkeypatch):
    """The Benchmark view's default chart (drawn from the shipped benchmark record) is shipped for today's drawing
    code: a fresh server's warm-up reads it instead of drawing it. Fails after a change to the drawing code or to
    the record until ``python -m app.ship_pictures`` ships it again."""
    from app import report
    from app.warmup import DashboardContext
    from interp_core.evaluation import warmup

    monkeypatch.setattr(report, "PICTURES", report.Pictures(folder=report._shipped_pictures()))
    drawn = count_pictures_drawn(monkeypatch)
    view = next(v for v in warmup.menu_views() if v.page == "benchmark")
    run = warmup.Warmup(DashboardContext(), [view], max_yield=0, next_steps=False)
    run.run()
    assert run.states == {"benchmark": "ready"}, run.errors
    assert [step for _, step in run.steps].count("drawing a chart") == 1
    assert drawn == [] and len(report.PICTURES.items()) == 1


def test_shipping_pictures_writes_what_a_fresh_server_then_reads(tmp_path, monkeypatch):
    from app import report
    from app.warmup import ship_pictures

    (tmp_path / "0123.png").write_bytes(PNG)  # shipping one view keeps the other views' pictures
    shipped = ship_pictures(tmp_path, views=["benchmark"], next_steps=False)
    assert shipped["errors"] == {} and len(shipped["files"]) == 1 and (tmp_path / "0123.png").exists()
    png = (tmp_path / shipped["files"][0].rsplit("/", 1)[1]).read_bytes()
    assert png.startswith(PNG) and len(png) > 10_000
    key = shipped["files"][0].rsplit("/", 1)[1][:-4]
    fresh = report.Pictures(folder=tmp_path)
    assert fresh.get(key, lambda: pytest.fail("drawn although shipped")) == png


def test_a_built_figure_is_built_and_serialized_once_per_key():
    from app.report import built_figure, figure_json

    class Figure:
        serialized = 0

        def __init__(self, value):
            self.value = value

        def to_json(self):
            Figure.serialized += 1
            return json.dumps({"value": self.value})

    built: list[int] = []

    def build(value):
        built.append(value)
        return Figure(value)

    first = built_figure(build, 1, key=("test-figure", 1))
    again = built_figure(build, 1, key=("test-figure", 1))
    other = built_figure(build, 2, key=("test-figure", 2))
    assert first is again and other is not first and built == [1, 2]
    assert figure_json(first) == '{"value": 1}' and figure_json(other) == '{"value": 2}' and Figure.serialized == 2
    assert figure_json(Figure(3)) == '{"value": 3}' and Figure.serialized == 3  # a figure not kept: serialized now


def test_store_reads_without_copies_still_hand_out_copies(tmp_path, monkeypatch):
    """Status and fingerprint checks read the kept metadata without copying it; ``checkpoint_meta`` still hands out
    a copy the caller may change, and a changed card is read again."""
    from interp_core.store import catalog, trainable

    name = "cnn-shapes"
    meta = catalog.checkpoint_meta(name)
    meta["weights_sha256"] = "changed by the caller"
    meta["test_metrics"]["accuracy"] = -1.0
    assert catalog.checkpoint_fingerprint(name) != "changed by the caller"
    assert catalog.recorded_metrics(name)["accuracy"] >= 0
    catalog.recorded_metrics(name)["accuracy"] = -2.0
    assert catalog.checkpoint_meta(name)["test_metrics"]["accuracy"] >= 0

    card = tmp_path / "m-1.json"
    card.write_text(json.dumps({"recipe": {"name": "m"}, "train_seconds": 10}))
    monkeypatch.setattr(trainable, "SHIPPED_CHECKPOINTS", tmp_path)
    assert trainable._shipped_train_seconds() == {"m": 10.0}
    card.write_text(json.dumps({"recipe": {"name": "m"}, "train_seconds": 250}))
    assert trainable._shipped_train_seconds() == {"m": 250.0}
