"""The dashboard shows the guards' messages and keeps running (issue 12), checked in one child process
(:mod:`tests.hardening.dashboard_child`) with its own cache folder."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.hardening.worker import REPO, child_env


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("dashboard-home")
    # The embedded datasets the Data page shows come from the tests' shared cache (generated once there).
    shared = REPO / ".cache" / "test-home" / "datasets"
    shared.mkdir(parents=True, exist_ok=True)
    (home / "datasets").symlink_to(shared, target_is_directory=True)
    done = subprocess.run([sys.executable, "-m", "tests.hardening.dashboard_child", "upload", "home", "home-failing"],
                          cwd=REPO, env=child_env(home), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_upload_of_one_bad_file_shows_an_escaped_short_message_and_the_page_keeps_running(dashboard):
    result = dashboard["upload"]
    assert not result["exceptions"], result
    assert len(result["errors"]) == 1, result
    message = result["errors"][0]
    assert "scans" in message and len(message) < 400
    # Markdown in the name is escaped (shown literally), the newline flattened, the name shortened.
    assert "\\# big" in message and "\\[x\\]\\(http" in message and "\\$x\\$" in message and "\n" not in message
    assert result["after"] == {"errors": [], "exceptions": []}


def test_home_with_corrupt_cache_metadata_falls_back_to_shipped_without_a_second_error(dashboard):
    result = dashboard["home"]
    assert result["errors"] == [] and result["exceptions"] == [], result
    assert result["status"]["cnn-digits"] == "shipped" and result["device"], result


def test_home_whose_store_fails_shows_one_message_and_still_the_device(dashboard):
    result = dashboard["home-failing"]
    assert result["exceptions"] == [], result
    assert len(result["errors"]) == 1 and "Reading the model store failed" in result["errors"][0], result
    assert result["device"], result
