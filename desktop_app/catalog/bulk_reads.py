"""Reading many rows fast: plain tuples off a cursor, and the cyclic GC paused while the results are built."""

from __future__ import annotations

import contextlib
import gc
import sqlite3
from typing import Any, Iterator

from .db import damaged, is_damage


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic collector off while a bulk read builds its objects. Each million new tuples or objects
    otherwise sets off a few thousand collections, and the full ones walk every object already built: with it
    on, building 2,000,000 points cost three times the read itself. Reference counting still frees everything
    meanwhile; only cycles wait for the next collection. Nested or concurrent pauses leave it on at the end when
    it was on at the start of the outermost one."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def tuples(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[tuple]:
    """All rows of a query as plain tuples (no sqlite3.Row per row), a damaged file said as such."""
    cur = conn.cursor()
    cur.row_factory = None
    try:
        return cur.execute(sql, params).fetchall()
    except sqlite3.DatabaseError as e:
        if is_damage(e):
            raise damaged(getattr(conn, "catalog_path", ""), str(e)) from e
        raise
    finally:
        cur.close()
