"""Real dashboard servers under load: participants as websocket clients of ``streamlit run app/main.py``
(Streamlit's own protocol), one server, and two behind a local haproxy sharing one database; every answer
shown as stored is in the database. The acceptance sizes (50 browsers x 20 answers) run from ``.ci/run``."""
from __future__ import annotations

import os
import shutil

import pytest
from study_fixtures import postgres_url, reset_postgres, study_env  # noqa: F401  (fixture)

from interp_core.study.loadtest import run_dashboard_loadtest


def test_participants_answer_through_a_real_dashboard_and_nothing_is_lost():
    result = run_dashboard_loadtest(browsers=3, answers=4)
    assert (result["written"], result["acknowledged"], result["lost"], result["errors"]) == (12, 12, 0, 0), result["first_errors"]
    assert result["per_server"] == {"direct": 3} and 0 < result["p50_ms"] <= result["p95_ms"] <= result["max_ms"]


@pytest.mark.slow  # CI runs the same through `study loadtest --browsers 10 --servers 2` on PostgreSQL
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_servers_behind_haproxy_share_one_database(database, tmp_path):
    if not shutil.which("haproxy") and not os.path.exists("/usr/sbin/haproxy"):
        if os.environ.get("INTERP_CORE_REQUIRE_POSTGRES") == "1":  # CI installs it with the database server
            pytest.fail("haproxy is required in CI but not installed")
        pytest.skip("Debian's haproxy is not installed (apt-get install haproxy)")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    if database == "postgresql":
        url = postgres_url()
        reset_postgres(url)
    result = run_dashboard_loadtest(browsers=4, answers=3, url=url, servers=2)
    assert (result["written"], result["lost"], result["errors"]) == (12, 0, 0), result["first_errors"]
    assert result["per_server"] == {"s0": 2, "s1": 2}  # round robin: both servers took participants
    assert result["backend"] == database
