"""No SQL outside desktop_app/catalog/: the catalog's connection is private and every query has a name there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "desktop_app"
CATALOG = PACKAGE / "catalog"

# Modules that talk to a database outside the catalog, each with the reason. Keep this short; prefer a named
# query in catalog/. Paths are relative to the repository root.
ALLOWED: dict[str, str] = {}

SQL_CALLS = {"execute", "executemany", "executescript", "scalar", "query", "query_one"}
DB_NAMES = {"conn", "connection", "cur", "cursor", "db", "udb", "sqlite", "sql"}
SQL_MODULES = {"sqlite3", "sqlite_utils", "apsw"}
# The catalog's connection module; now_iso / new_id / to_json live in desktop_app.catalog.stamps.
PRIVATE_MODULES = {"desktop_app.catalog.db"}
SQL_TEXT = re.compile(r"^\s*\(*\s*(SELECT|INSERT|UPDATE|DELETE|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|CREATE|ALTER|"
                      r"DROP|REPLACE|WITH)\b[\s\S]*\b(FROM|INTO|SET|TABLE|VALUES|IMMEDIATE|user_version|"
                      r"integrity_check|journal_mode)\b")


def _receiver_name(node: ast.expr) -> str | None:
    """The last name of what a method is called on: `conn` in conn.execute, `db` in catalog._db.scalar."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _receiver_name(node.func)
    return None


def _literal_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _looks_like_sql(node: ast.expr) -> bool:
    text = _literal_text(node)
    return text is not None and bool(SQL_TEXT.match(text))


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in ("db", "_db"):
            self.found.append((node.lineno, f"reads `.{node.attr}` (the catalog's connection is private)"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SQL_CALLS:
            receiver = _receiver_name(func.value)
            first = node.args[0] if node.args else None
            if (receiver or "").lower() in DB_NAMES or (first is not None and _looks_like_sql(first)):
                self.found.append((node.lineno, f"runs SQL through `.{func.attr}()` on `{receiver}`"))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and SQL_TEXT.match(node.value):
            self.found.append((node.lineno, f"holds SQL text {node.value[:40]!r}"))

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        if _looks_like_sql(node):
            self.found.append((node.lineno, f"holds SQL text {_literal_text(node)[:40]!r}"))
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.name.split(".")[0] in SQL_MODULES:
                self.found.append((node.lineno, f"imports {a.name}"))

        for a in node.names:
            if a.name in PRIVATE_MODULES:
                self.found.append((node.lineno, f"imports {a.name} (the catalog's connection module)"))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.split(".")[0] in SQL_MODULES:
            self.found.append((node.lineno, f"imports from {module}"))
        if module in PRIVATE_MODULES or any(f"{module}.{a.name}" in PRIVATE_MODULES for a in node.names):
            self.found.append((node.lineno, f"imports from {module} (the catalog's connection module)"))


def sql_outside_catalog() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if CATALOG in path.parents:
            continue
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED:
            continue
        finder = _Finder()
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        out += [f"{rel}:{line}: {what}" for line, what in sorted(set(finder.found))]
    return out


def test_no_sql_outside_the_catalog():
    found = sql_outside_catalog()
    assert not found, ("SQL outside desktop_app/catalog/ (add a named query to the catalog and call it):\n"
                       + "\n".join(found))


def test_the_finder_sees_each_kind_of_sql_use():
    src = ("import sqlite3\nfrom sqlite_utils import Database\n"
           "catalog.db.transaction()\n"
           "conn.execute('x')\n"
           "thing.scalar('SELECT COUNT(*) FROM items')\n"
           "q = f'SELECT id FROM {t} WHERE x = 1'\n"
           "self.catalog._db.conn.executemany(sql, rows)\n"
           "from desktop_app.catalog.db import now_iso\n"
           "from desktop_app.catalog import db\n"
           "client.catalog._db.transaction()\n")
    finder = _Finder()
    finder.visit(ast.parse(src))
    lines = {line for line, _ in finder.found}
    assert lines == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}


def test_the_finder_leaves_plain_code_alone():
    src = ("engine.execute(catalog, run_id)\n"
           "self.conn.send(event)\n"
           "path / 'catalog.db'\n"
           "print('Select a model from the list')\n"
           "values.query('x')\n"
           "from desktop_app.catalog.stamps import now_iso\n")
    finder = _Finder()
    finder.visit(ast.parse(src))
    assert finder.found == []


def test_the_allow_list_names_files_that_exist():
    for rel in ALLOWED:
        assert (ROOT / rel).is_file(), rel
