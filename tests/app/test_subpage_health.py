"""Sub-page URLs and the frontend's ``_stcore`` probes (issue #14, streamlit#7074), against the real server.

When a sub-page URL such as ``/data`` is opened directly, the Streamlit frontend looks for the server's
base path by probing ``/data/_stcore/health`` plus ``/data/_stcore/host-config`` first, then
``/_stcore/health`` plus ``/_stcore/host-config``. It takes the first candidate whose two probes both
succeed as the base for its websocket, media and upload URLs. So the page-prefixed probes *must not*
succeed. If they answer 200, the browser opens ``ws://…/data/_stcore/stream``, which does not exist,
and then reconnects forever on a blank page (checked with Chromium). The 404s seen in the browser's
network log are that base-path discovery working. This test pins that contract: the root probes answer,
each page's probes are refused with a plain 404 (not the app's HTML with a 200), the page URL itself
serves the app, and odd paths do not hurt the server.

urllib only: no browser needed, so it always runs. One server for the whole module.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from app.shell import existing_views
from interp_core.bench.views import dashboard

PROBES = ("_stcore/health", "_stcore/host-config")


def _page_paths() -> list[str]:
    return [view.page for views in existing_views().values() for view in views]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def server():
    with dashboard(timeout=60) as url:
        yield url


def test_root_probes_answer(server):
    assert _get(f"{server}/_stcore/health") == (200, b"ok")
    status, body = _get(f"{server}/_stcore/host-config")
    assert status == 200
    assert isinstance(json.loads(body), dict)


def test_there_are_sub_pages_to_check():
    paths = _page_paths()
    assert "data" in paths and len(paths) >= 5, paths


@pytest.mark.parametrize("probe", PROBES)
def test_page_prefixed_probes_are_refused_so_the_browser_falls_back_to_root(server, probe):
    for page in _page_paths():
        status, body = _get(f"{server}/{page}/{probe}")
        # Not 200: a 200 here would make the frontend use /<page> as its server base (see module doc).
        assert status == 404, (page, probe, status, body[:200])
        assert b"<html" not in body.lower(), (page, probe)  # a plain 404, not the app's index.html


def test_sub_page_urls_serve_the_app(server):
    for page in _page_paths():
        status, body = _get(f"{server}/{page}")
        assert status == 200, page
        assert b"<html" in body.lower(), page


def test_nonsense_paths_do_not_hurt_the_server(server):
    for path in ("no-such-page/x/_stcore/health", "no-such-page/_stcore/health", "no-such-page/x/_stcore/host-config"):
        status, _ = _get(f"{server}/{path}")
        assert status == 404, path
    assert _get(f"{server}/_stcore/health") == (200, b"ok")
