"""What trained a checkpoint: a fingerprint of the code that shapes a recipe's training (torch-free).

A recipe's hash names *what* is trained; this names *how*: the source of every interp_core module that
its training runs, found statically from the recipe type's ``training`` module, the dataset's generator
and the architectures, following imports (those inside functions too). A shipped checkpoint whose
recorded fingerprint differs from the current code would train differently now: ``list`` and Home flag it,
and ``python -m interp_core ship`` retrains it. Modules that only name or locate things (registries, the
family list, views, paths, checkpoint files and cards) are left out, so adding a family flags nothing.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

from interp_core.store.recipes import Recipe

_PACKAGE = Path(__file__).resolve().parent.parent
#: Modules that do not change what training computes.
_NEUTRAL = {
    "interp_core", "interp_core.registry", "interp_core.families", "interp_core.views", "interp_core.paths",
    "interp_core.store", "interp_core.store.catalog", "interp_core.store.card", "interp_core.store.checkpoint",
    "interp_core.store.recipes", "interp_core.store.provenance", "interp_core.methods", "interp_core.methods.base",
    "interp_core.data.real",  # loaders of real datasets, reached lazily from interp_core.data; neutral unless the recipe's dataset
}


def _path(module: str) -> Path | None:
    rel = Path(*module.split("."))
    for candidate in (_PACKAGE.parent / rel.with_suffix(".py"), _PACKAGE.parent / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def _imports(module: str) -> frozenset[str]:
    """interp_core modules that ``module`` imports anywhere in its source."""
    path = _path(module)
    if path is None:
        return frozenset()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            while name.startswith("interp_core") and _path(name) is None:
                name = name.rpartition(".")[0]
            if name.startswith("interp_core") and name != module:
                found.add(name)
    return frozenset(found)


def training_modules(recipe: Recipe) -> list[str]:
    """The interp_core modules whose code shapes how ``recipe`` is trained, sorted."""
    from interp_core.data import DATASETS

    start = {type(recipe).__module__.rpartition(".")[0] + ".training", DATASETS.get(recipe.dataset).module, "interp_core.store.models"}
    start |= {f"interp_core.models.{p.stem}" for p in (_PACKAGE / "models").glob("*.py") if p.stem != "__init__"}
    seen: set[str] = set()
    todo = [m for m in start if _path(m) is not None]
    while todo:
        module = todo.pop()
        if module in seen or (module in _NEUTRAL and module not in start):
            continue
        seen.add(module)
        todo.extend(_imports(module))
    return sorted(seen)


def code_fingerprint(recipe: Recipe) -> str:
    """12-hex SHA-256 of the source of :func:`training_modules` (names and contents)."""
    digest = hashlib.sha256()
    for module in training_modules(recipe):
        digest.update(module.encode() + b"\0" + _path(module).read_bytes() + b"\0")
    return digest.hexdigest()[:12]
