"""Named queries (and the damage report) the command line needs that no Catalog method gives."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from .catalog import Catalog


def catalog_counts(catalog: Catalog) -> dict[str, int]:
    """The catalog's schema version and how many items and annotations it holds, every dataset together."""
    db = catalog._db
    return {"schema_version": db.scalar("PRAGMA user_version"),
            "items": db.scalar("SELECT COUNT(*) FROM items"),
            "annotations": db.scalar("SELECT COUNT(*) FROM annotations")}


@contextlib.contextmanager
def damage_reported() -> Iterator[None]:
    """Damage SQLite finds while reading rows (past the statement that the catalog's connection words itself)
    leaves as CatalogDamagedError naming the default catalog; any other database error passes unchanged."""
    try:
        yield
    except sqlite3.DatabaseError as e:
        from .db import damaged, is_damage
        from .paths import default_home
        if not is_damage(e):
            raise
        raise damaged(default_home() / "catalog.db", str(e)) from None
