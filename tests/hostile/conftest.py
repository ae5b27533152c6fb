"""Shared helper of the hostile-input suite: a snapshot of what a catalog holds, to prove a refusal wrote nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest


def _home_of(where: Any) -> Path:
    """A catalog folder from a Catalog, an SDK client, a folder path or its catalog.db path."""
    if isinstance(where, (str, Path)):
        home = Path(where)
    else:
        catalog = getattr(where, "catalog", where)
        home = Path(catalog.home)
    return home.parent if home.name == "catalog.db" else home


def snapshot(where: Any) -> dict[str, Any]:
    """Row counts of every table and the sorted list of files under store/ (store/tmp included).

    Compare a snapshot taken before a refused call with one taken after: they must be equal.
    Reads through its own short-lived connection, so it sees what other connections committed.
    """
    home = _home_of(where)
    conn = sqlite3.connect(home / "catalog.db")
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        rows = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()
    store = home / "store"
    files = sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()) if store.exists() else []
    return {"rows": rows, "store": files}


@pytest.fixture(name="snapshot")
def snapshot_fixture():
    """The `snapshot` function, for tests that prefer a fixture to an import."""
    return snapshot


@pytest.fixture
def lab(tmp_path):
    """A small catalog (built-in packages, no sample images) with a project to import into: (client, project, a
    folder for the files to import). test_hostile_names and test_hostile_evaluation have labs of their own."""
    from desktop_app.catalog import Catalog
    from desktop_app.sdk.client import Client

    client = Client(Catalog(tmp_path / "catalog"))
    project = client.projects.create(project_name="p")
    yield client, project, tmp_path / "sets"
    client.catalog.close()
