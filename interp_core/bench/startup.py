"""Cold-start benchmark: ``import interp_core`` and the dashboard's first render, each in a fresh process.

The import is compared with a bare ``python -c pass`` measured in the same run; the first render is the
time from opening the freshly started dashboard in headless Chromium until Home shows its model table.
"""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

from interp_core.paths import REPO_ROOT


def _time_command(code: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _browser_first_render(url: str) -> float:
    """Seconds from opening the dashboard in headless Chromium until Home has rendered its model table."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(url, timeout=120_000)
        page.get_by_text("Models ready").wait_for(timeout=120_000)
        elapsed = time.perf_counter() - start
        browser.close()
    return elapsed


def _dashboard_seconds() -> dict[str, float]:
    """Start the dashboard server (time to healthy), then time the first render of Home in a real browser."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.perf_counter() - start > 120:
                    raise TimeoutError("dashboard did not start within 120 s") from None
                time.sleep(0.1)
        result = {"server_healthy_seconds": time.perf_counter() - start}
        if os.path.exists("/usr/bin/chromium"):
            result["first_render_seconds"] = _browser_first_render(url)
        return result
    finally:
        proc.terminate()
        proc.wait(10)


def run_startup_benchmark(repeats: int = 3) -> dict[str, float]:
    python_baseline = _time_command("pass", repeats)
    import_time = _time_command("import interp_core", repeats)
    result = {
        "python_baseline_seconds": round(python_baseline, 3),
        "import_interp_core_seconds": round(import_time, 3),
        "import_over_baseline": round(import_time / python_baseline, 2),
    }
    result.update({k: round(v, 3) for k, v in _dashboard_seconds().items()})
    result["goal_import_seconds"] = 2.0
    result["goal_first_render_seconds"] = 5.0
    return result
