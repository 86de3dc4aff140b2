"""The dashboard shell does no tensor work: no module of app/ imports torch, and each imports with torch
unavailable (the library does the work; app/ keeps widgets, URL state, the report and caching glue)."""
from __future__ import annotations

import ast
import subprocess
import sys

from page_runner import ROOT

APP_MODULES = sorted(p for p in (ROOT / "app").glob("*.py") if p.stem != "__init__")


def test_no_app_module_imports_torch_anywhere():
    found = []
    for path in APP_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}:{node.lineno} {n}" for n in names if n == "torch" or n.startswith("torch.")]
    assert APP_MODULES and not found, found


def test_every_app_module_imports_with_torch_hidden():
    modules = [f"app.{p.stem}" for p in APP_MODULES if p.stem != "main"]
    code = ("import sys; sys.modules['torch'] = None\n"
            f"import importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
            "assert sys.modules['torch'] is None\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
