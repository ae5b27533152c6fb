"""Named queries a poller asks to learn, cheaply, whether the catalog's entities changed since it last looked.

`data_version` costs no table read: SQLite moves it when another connection (another thread, a script, the
CLI) commits, so a poller that sees it unchanged knows nothing was written. Only then is `entities_stamp`
worth reading: how many projects, datasets, packages and models there are and when the newest of each was
made or changed, which differs whenever one is added, deleted or renamed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import Catalog

# (table, the column that moves when a row is made or changed): the entities the window's navigator lists.
STAMPED = (("projects", "updated_at"), ("datasets", "updated_at"), ("packages", "created_at"),
           ("models", "updated_at"))
_STAMP_SQL = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t}), (SELECT MAX({c}) FROM {t})" for t, c in STAMPED)


def data_version(catalog: Catalog) -> int:
    """SQLite's data_version on the calling thread's connection: it moves when any other connection commits
    (that connection's own commits do not move it, so poll from a thread that does not write)."""
    return int(catalog._db.scalar("PRAGMA data_version"))


def entities_stamp(catalog: Catalog) -> tuple:
    """Counts and newest change times of projects, datasets, packages and models, in one read."""
    row = catalog._db.conn.execute(_STAMP_SQL).fetchone()
    return tuple(row)
