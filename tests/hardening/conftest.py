"""The worker shared by every hardening test: one limited child process for the whole session."""
from __future__ import annotations

import pytest

from tests.hardening.worker import Worker


@pytest.fixture(scope="session")
def worker(tmp_path_factory):
    handle = Worker(tmp_path_factory.mktemp("hardening-home"))
    yield handle
    handle.close()
