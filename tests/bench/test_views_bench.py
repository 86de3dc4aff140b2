"""``bench views`` without a browser: the server gets a fresh empty INTERP_CORE_HOME by default (the user's
cache or a named folder on request), views are visited in menu order, and the goals are read off the rows."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from interp_core.bench import views as bench


class FakeServer:
    """Stands in for ``streamlit run``: records the environment it was started with."""

    started: list[dict[str, str]] = []

    def __init__(self, command, cwd=None, stdout=None, stderr=None, env=None):
        FakeServer.started.append(env)

    def poll(self):
        return None

    def terminate(self):
        pass

    def wait(self, timeout=None):
        return 0


@pytest.fixture()
def fake_server(monkeypatch):
    FakeServer.started = []
    monkeypatch.setattr(bench.subprocess, "Popen", FakeServer)
    monkeypatch.setattr(bench.urllib.request, "urlopen", lambda url, timeout=None: type("Ok", (), {"read": lambda self: b"ok"})())
    return FakeServer.started


def test_the_server_starts_in_a_fresh_empty_home_by_default(fake_server, monkeypatch):
    monkeypatch.setenv("INTERP_CORE_HOME", "/somewhere/the/users/cache")
    with bench.server_home("fresh") as env, bench.dashboard(env) as url:
        home = Path(fake_server[0]["INTERP_CORE_HOME"])
        assert home.is_dir() and not any(home.iterdir()) and url.startswith("http://127.0.0.1:")
        assert str(home) != os.environ["INTERP_CORE_HOME"]
    assert not home.exists()  # removed with the server
    with bench.server_home(None) as env:
        assert Path(env["INTERP_CORE_HOME"]).is_dir()


def test_the_users_cache_or_a_named_folder_on_request(fake_server, monkeypatch, tmp_path):
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path / "users"))
    with bench.server_home("user") as env, bench.dashboard(env):
        assert fake_server[-1]["INTERP_CORE_HOME"] == str(tmp_path / "users")
    with bench.server_home(str(tmp_path / "mine")) as env, bench.dashboard(env):
        assert fake_server[-1]["INTERP_CORE_HOME"] == str(tmp_path / "mine")


def test_views_are_visited_in_menu_order():
    from interp_core.evaluation.warmup import menu_views

    menu = [v.page for v in menu_views()]
    ordered = [c.page for c in bench.menu_order(list(bench.VIEW_CHECKS))]
    assert sorted(ordered) == sorted(c.page for c in bench.VIEW_CHECKS)
    assert ordered == sorted(ordered, key=menu.index)


def test_the_goals_are_read_off_every_view():
    rows = {"home": {"first_render_cold_seconds": 2.5, "first_render_warm_seconds": 1.0, "widget_change_warm_seconds": 0.8},
            "qsenn": {"first_render_cold_seconds": 3.4, "first_render_warm_seconds": 1.9, "widget_change_warm_seconds": None}}
    out = bench.summarise(rows, health=2.2)
    assert out["health_seconds"] == 2.2 and out["health_under_goal"]
    assert not out["cold_first_renders_under_goal"] and out["slowest_cold_first_render"] == {"view": "qsenn", "seconds": 3.4}
    assert out["warm_first_renders_under_goal"] and out["warm_changes_under_goal"]
    assert out["slowest_warm_change"] == {"view": "home", "seconds": 0.8}
    rows["qsenn"]["first_render_cold_seconds"] = 2.9
    assert bench.summarise(rows, health=3.5)["cold_first_renders_under_goal"] and not bench.summarise(rows, 3.5)["health_under_goal"]


def test_the_command_line_passes_views_and_home_to_bench_views_only(monkeypatch, capsys):
    from interp_core.cli.main import main

    seen = {}
    monkeypatch.setattr(bench, "run_views_benchmark", lambda views=None, home="fresh", browser="one":
                        seen.update(views=views, home=home, browser=browser) or {"ok": 1})
    assert main(["bench", "views", "--views", "home,qsenn", "--home", "user", "--browser", "fresh", "--json"]) == 0
    assert seen == {"views": ("home", "qsenn"), "home": "user", "browser": "fresh"}
    assert main(["bench", "views", "--json"]) == 0 and seen == {"views": None, "home": "fresh", "browser": "one"}
    assert main(["bench", "startup", "--home", "fresh"]) == 2
    assert "bench startup takes no --home" in capsys.readouterr().err


def test_bench_views_refuses_a_browser_it_does_not_know():
    with pytest.raises(ValueError, match="'one' or 'fresh'"):
        bench.run_views_benchmark(browser="shared")
