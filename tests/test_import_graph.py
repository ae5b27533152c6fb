"""The import graph of desktop_app has no cycles: imports inside functions count, `if TYPE_CHECKING:` ones do not."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "desktop_app"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """The desktop_app modules one module imports, at any depth of its code."""

    def __init__(self, name: str, is_package: bool, modules: set[str]):
        self.name, self.is_package, self.modules, self.found = name, is_package, modules, set()

    def _known(self, dotted: str) -> str | None:
        while dotted and dotted not in self.modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for n in node.orelse:
                self.visit(n)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.name.split(".")
            if not self.is_package:
                parts = parts[:-1]
            parts = parts[:len(parts) - (node.level - 1)]
            base = ".".join(parts + ([node.module] if node.module else []))
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self._add(sub if sub in self.modules else base)

    def _add(self, dotted: str) -> None:
        known = self._known(dotted)
        if known and known != self.name:
            self.found.add(known)


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        v = _Imports(name, path.name == "__init__.py", set(files))
        v.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        graph[name] = v.found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each with one cycle spelled out."""
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(_one_cycle(graph, set(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _one_cycle(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    start = min(comp)
    path, seen = [start], {start}
    while True:   # in a strongly connected component every walk inside it returns to the start
        nxt = sorted(graph[path[-1]] & comp)
        if start in nxt and len(path) > 1:
            return path + [start]
        step = next((n for n in nxt if n not in seen), None)
        if step is None:
            return path + [nxt[0]]
        path.append(step)
        seen.add(step)


def test_the_walker_sees_imports_inside_functions_and_skips_type_checking_ones():
    graph = import_graph()
    assert "desktop_app.catalog" in graph and len(graph) > 100
    # Sanity of the walker itself on a tiny made-up graph and on a known edge of the real one.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert "desktop_app.errors" in graph["desktop_app.catalog.names"]


def test_desktop_app_has_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_each_rooms_note_names_the_rooms_the_contract_lets_it_use():
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    rows = [[name.strip() for name in layer.split("|")] for layer in layers]
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    listed = {name for row in rows for name in row}
    assert packages <= listed, f"rooms missing from the layers contract: {sorted(packages - listed)}"
    for i, row in enumerate(rows):
        below = [name for lower in rows[i + 1:] for name in lower]
        for room in row:
            init = PACKAGE / room / "__init__.py"
            if not init.exists():
                continue     # a module room (errors, settings, __main__)
            doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
            note = " ".join(doc.split("\n\n")[0].split())
            assert "Uses: " in note, f"{room}/__init__.py: no 'Uses:' line in its note"
            uses = note.split("Uses: ", 1)[1].split(".")[0]
            said = [] if uses == "no other room" else [u.strip() for u in uses.split(",")]
            assert said == below, f"{room}/__init__.py says it uses {said}; the contract lets it use {below}"
