"""What trained a checkpoint: a fingerprint of the code that shapes a recipe's training (torch-free).

A recipe's hash names *what* is trained; this names *how*: the source of every interp_core module that
its training runs, found statically from the recipe type's ``training`` module, the dataset's generator
and the architectures it builds (its own ``arch`` and those of the recipes it starts from, e.g. a
frozen backbone), following imports (those inside functions too). :func:`code_fingerprint` records one
SHA-256 per module, so a checkpoint is stale exactly when a module its training runs has changed since:
editing the B-cos layers flags B-cos models, not the plain CNNs. ``list`` and Home flag stale
checkpoints, and ``python -m interp_core ship`` retrains them. Modules that only name or locate things
(registries, the family list, views, paths, checkpoint files and cards) are left out, so adding a family
flags nothing. An architecture this module cannot place (a name registered at run time) brings in every
module of :mod:`interp_core.models`, which errs on the side of flagging.

The record is per *definition*, not per file: every top-level function, class and statement (imports,
docstrings and ``__all__`` left out) of those modules is hashed on its parsed source, so comments,
docstrings, guard clauses (``if ...: raise``, which refuse to start a run and change nothing a started run
computes) and moving a definition to another module (a package split) change nothing, while an edited
body, a new definition or an edited constant flags the checkpoint and names the module it now lives in.
Records from before (per-module hashes only) are still checked per module.
"""
from __future__ import annotations

import ast
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from interp_core.store.recipes import Recipe

_PACKAGE = Path(__file__).resolve().parent.parent
#: Modules that do not change what training computes.
_NEUTRAL = {
    "interp_core", "interp_core.registry", "interp_core.families", "interp_core.views", "interp_core.paths",
    "interp_core.store", "interp_core.store.catalog", "interp_core.store.card", "interp_core.store.checkpoint",
    "interp_core.store.recipes", "interp_core.store.provenance", "interp_core.methods", "interp_core.methods.base",
    "interp_core.progress",  # progress reports and timing do not change what is computed
    "interp_core.io",  # atomic file writes
    "interp_core.store.trainable",  # refuses before a run starts; changes nothing a run computes
}
#: Packages all of whose modules are neutral: the loaders of real datasets, reached lazily from
#: interp_core.data, count only when the recipe's dataset is a real one (then they are start modules).
_NEUTRAL_PACKAGES = ("interp_core.data.real",)


def _neutral(module: str) -> bool:
    return module in _NEUTRAL or any(module == p or module.startswith(p + ".") for p in _NEUTRAL_PACKAGES)


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


def _model_modules() -> list[str]:
    """Every module of :mod:`interp_core.models`, sub-packages included (``interp_core.models.bcos.layers``)."""
    found = []
    for path in (_PACKAGE / "models").rglob("*.py"):
        parts = path.relative_to(_PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 2:
            found.append(".".join(parts))
    return sorted(found)


@lru_cache(maxsize=None)
def _architecture_sites() -> dict[str, str]:
    """Architecture name -> the module whose source registers it with a literal name."""
    sites = {}
    for module in _model_modules():
        for name in re.findall(r"register_architecture\(\s*[\"']([^\"']+)[\"']\s*\)", _path(module).read_text()):
            sites[name] = module
    return sites


def _architecture_modules(recipe: Recipe, seen: frozenset[str] = frozenset()) -> set[str]:
    """Modules defining the architectures ``recipe`` builds: its ``arch`` and, recursively, those of the
    recipes its fields name (a backbone, a dense model it starts from); an architecture registered outside
    :mod:`interp_core.models` is placed by :data:`~interp_core.store.recipes.ARCHITECTURE_MODULES`. All of
    :mod:`interp_core.models` when a name cannot be placed."""
    from interp_core.store.recipes import ARCHITECTURE_MODULES, all_recipes

    recipes = all_recipes()  # loads the recipe providers, which also fill ARCHITECTURE_MODULES
    found: set[str] = set()
    arch = getattr(recipe, "arch", None)
    if isinstance(arch, str) and arch:
        site = _architecture_sites().get(arch) or ARCHITECTURE_MODULES.get(arch)
        found |= {site} if site else set(_model_modules())
    for value in vars(recipe).values():
        if isinstance(value, str) and value in recipes and value != recipe.name and value not in seen:
            found |= _architecture_modules(recipes[value], seen | {recipe.name})
    return found


def training_modules(recipe: Recipe) -> list[str]:
    """The interp_core modules whose code shapes how ``recipe`` is trained, sorted."""
    from interp_core.data import DATASETS

    # A real dataset named KIND[@SIZE]:ROOT is read by the real-data loaders, not a registered generator.
    data_modules: set[str] = set()
    for name in recipe.training_datasets:
        data_modules |= {DATASETS.get(name).module} if name in DATASETS else {"interp_core.external.datasets", "interp_core.data.real"}
    start = {type(recipe).__module__.rpartition(".")[0] + ".training", *data_modules, "interp_core.store.models",
             "interp_core.models.registry"}
    start |= _architecture_modules(recipe)
    seen: set[str] = set()
    todo = [m for m in start if _path(m) is not None]
    while todo:
        module = todo.pop()
        if module in seen or (_neutral(module) and not any(module == s or module.startswith(s + ".") for s in start)):
            continue
        seen.add(module)
        todo.extend(_imports(module))
    return sorted(seen)


def module_hash(module: str) -> str:
    """12-hex SHA-256 of one module's source ("" if it no longer exists)."""
    path = _path(module)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path is not None else ""


def _is_guard(statement: ast.stmt) -> bool:
    """``if CONDITION: raise ...`` with no ``else``: a precondition that refuses to run."""
    return (isinstance(statement, ast.If) and not statement.orelse
            and all(isinstance(s, ast.Raise) for s in statement.body))


def _without_docstrings(node: ast.AST) -> ast.AST:
    """``node`` without docstrings and without the guard clauses of its functions' bodies: a refusal to
    start changes nothing that a run which does start computes."""
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if not isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or not body:
            continue
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body = body[1:]
        if not isinstance(sub, ast.ClassDef):
            body = [s for s in body if not _is_guard(s)]
        sub.body = body or [ast.Pass()]
    return node


@lru_cache(maxsize=None)
def _definitions_cached(module: str, source_hash: str) -> frozenset[str]:
    path = _path(module)
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # the module docstring, or a bare string
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and "__all__" in ast.unparse(node).split("=")[0]:
            continue
        text = ast.unparse(_without_docstrings(node))
        found.add(hashlib.sha256(text.encode()).hexdigest()[:12])
    return frozenset(found)


def definition_hashes(module: str) -> frozenset[str]:
    """12-hex SHA-256 of each top-level definition of ``module`` (functions, classes, constants and other
    statements; imports, docstrings and ``__all__`` left out), each hashed on its parsed source without
    comments or docstrings: the same text gives the same hash in whichever module it stands."""
    if _path(module) is None:
        return frozenset()
    return _definitions_cached(module, module_hash(module))


def code_fingerprint(recipe: Recipe) -> dict[str, Any]:
    """What a checkpoint records: ``modules`` (each of :func:`training_modules` with :func:`module_hash`),
    ``definitions`` (the sorted :func:`definition_hashes` of them all, which decide staleness) and
    ``digest``, one 12-hex SHA-256 over the definitions."""
    modules = {module: module_hash(module) for module in training_modules(recipe)}
    definitions = sorted(set().union(*(definition_hashes(m) for m in modules)))
    digest = hashlib.sha256("\n".join(definitions).encode()).hexdigest()[:12]
    return {"digest": digest, "modules": modules, "definitions": definitions}


def changed_modules(recipe: Recipe, recorded: Any) -> list[str] | None:
    """The modules of ``recipe``'s training holding a definition that the checkpoint's ``recorded``
    fingerprint does not (an edited or new one), or, for a record without definitions, whose source
    differs (missing from the record counts as changed); ``[]`` when it was trained by today's code,
    None when the record is not a per-module or per-definition fingerprint."""
    if not (isinstance(recorded, dict) and isinstance(recorded.get("modules"), dict)):
        return None
    if isinstance(recorded.get("definitions"), list):
        known = set(recorded["definitions"])
        return [m for m in training_modules(recipe) if not definition_hashes(m) <= known]
    modules = recorded["modules"]
    return [m for m in training_modules(recipe) if modules.get(m) != module_hash(m)]
