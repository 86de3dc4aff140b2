"""Dashboard servers for a study, on this machine only: one ``streamlit run app/main.py``, or several
behind one address through a local reverse proxy (Debian's haproxy), all sharing one study database.

Every Streamlit process keeps its participants' sessions in memory and talks to them over a websocket,
so a second process is a second core for the page runs; the answers go to the one database (a
PostgreSQL server, or the same SQLite file), where every answer is final whichever process took it.
The proxy hands each new connection to the next server in turn and pins a browser to its server with a
cookie (``DASHBOARD``), so the pictures and sounds a page lists are fetched from the process that holds
them. Everything listens on 127.0.0.1 and is stopped when the ``with`` block ends.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from interp_core.paths import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, deadline: float, proc: subprocess.Popen, what: str) -> None:
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise TimeoutError(f"{what} did not answer at {url} in time") from None
            time.sleep(0.2)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


#: How to serve a study to many participants: Streamlit's default runs a full garbage collection
#: (``gc.collect(2)``) after every script run, which took about half of the server's CPU time in the
#: load test (py-spy); participants' page runs create little garbage, so it is switched off.
STUDY_SERVER_OPTIONS = ("--runner.postScriptGC", "false", "--server.fileWatcherType", "none")


@contextlib.contextmanager
def dashboards(count: int, env: dict[str, str], timeout: float = 180, post_script_gc: bool = False) -> Iterator[list[str]]:
    """``count`` dashboard processes on free local ports with ``env`` added, served with
    :data:`STUDY_SERVER_OPTIONS` (``post_script_gc``: keep Streamlit's collection after each run); yields their URLs."""
    procs, urls = [], []
    options = [o for o in STUDY_SERVER_OPTIONS if not post_script_gc or o not in ("--runner.postScriptGC", "false")]
    try:
        for _ in range(count):
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true", "--server.address",
                 "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false", *options],
                cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=dict(os.environ, **env, PYTHONPATH=str(REPO_ROOT))))
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + timeout
        for proc, url in zip(procs, urls):
            _wait_healthy(url, deadline, proc, "the dashboard")
        yield urls
    finally:
        _stop(procs)


HAPROXY_CONFIG = """global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout tunnel 3600s
frontend study
    bind 127.0.0.1:{port}
    default_backend dashboards
backend dashboards
    balance roundrobin
    cookie DASHBOARD insert indirect nocache
    option httpchk GET /_stcore/health
{servers}
"""


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise RuntimeError("Several dashboard servers need a reverse proxy: install Debian's haproxy (apt-get install haproxy).")
    return found


@contextlib.contextmanager
def reverse_proxy(backends: list[str], timeout: float = 30) -> Iterator[str]:
    """haproxy on a free local port in front of ``backends`` (round robin, cookie-pinned); yields its URL."""
    port = free_port()
    servers = "\n".join(f"    server s{n} {url.split('://', 1)[1]} check cookie s{n}" for n, url in enumerate(backends))
    with tempfile.TemporaryDirectory(prefix="study-proxy-") as folder:
        config = Path(folder) / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers))
        proc = subprocess.Popen([haproxy_binary(), "-f", str(config), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, time.monotonic() + timeout, proc, "haproxy")
            yield url
        finally:
            _stop([proc])


@contextlib.contextmanager
def serve(count: int, env: dict[str, str], post_script_gc: bool = False) -> Iterator[tuple[str, list[str]]]:
    """``count`` dashboards sharing ``env``'s study database; yields ``(front URL, server URLs)``: the
    proxy's address when there are several, else the one server's."""
    with dashboards(count, env, post_script_gc=post_script_gc) as urls:
        if count == 1:
            yield urls[0], urls
        else:
            with reverse_proxy(urls) as front:
                yield front, urls
