"""The architecture holds: no import cycles between interp_core modules (imports inside functions count),
and the generic layers (store/, metrics/, evaluation/) and shared pages name no method family in code."""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "interp_core"
FAMILY = re.compile(r"bcos|kmex|qsenn|piq", re.I)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> interp_core modules it imports (a module importing its own parent package is not an edge)."""
    modules = {_module_name(f): f for f in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_in_interp_core():
    graph = import_graph()
    assert "interp_core.store.models" in graph and graph["interp_core.store.models"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """Lines of ``path`` with comments and strings that are docstrings removed (names in code and other
    strings stay: a family's recipe name in a string is still a family name)."""
    text = path.read_text()
    docstrings = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(node):
            first = node.body[0]
            docstrings.update(range(first.lineno, first.end_lineno + 1))
    comments = {tok.start[0]: tok.start[1] for tok in tokenize.generate_tokens(io.StringIO(text).readline) if tok.type == tokenize.COMMENT}
    return [(i, line[: comments.get(i, len(line))]) for i, line in enumerate(text.splitlines(), 1) if i not in docstrings]


def test_generic_layers_and_shared_pages_name_no_family():
    files = [f for layer in ("store", "metrics", "evaluation") for f in (PACKAGE / layer).rglob("*.py")]
    files += [ROOT / "pages" / f"{page}.py" for page in ("home", "data", "compare", "pointing_game")]
    found = [f"{f.relative_to(ROOT)}:{i}: {line.strip()}" for f in files for i, line in _code_lines(f) if FAMILY.search(line)]
    assert not found, "\n".join(found)


def test_listing_recipes_views_datasets_and_code_status_never_imports_torch():
    """Home and `list` read these first: they must not pay for importing torch."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from interp_core.store.recipes import all_recipes\n"
            "from interp_core.store.catalog import code_status, recorded_metrics\n"
            "from interp_core.views import navigation\n"
            "from interp_core.data import embedded_datasets\n"
            "names = list(all_recipes()); navigation(); embedded_datasets()\n"
            "[(code_status(n), recorded_metrics(n)) for n in names]\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
