"""The catalog's SQLite connection: WAL, foreign keys, one connection per thread, IMMEDIATE writes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from desktop_app.errors import CatalogBusyError, CatalogDamagedError, CatalogVersionError, UserError

from . import schema
from .stamps import new_id, now_iso, to_json  # noqa: F401  (their old home; the catalog's modules import them here)

# Long enough that a script logging metrics never fails while an import holds the lock.
BUSY_TIMEOUT_S = 120.0


class Database:
    """Thread-local sqlite-utils databases over one file, with explicit write transactions."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Only a missing catalog is ever created: SQLite would take an empty or foreign file for a new database.
        if not check_database_file(self.path) and not read_only:
            create_database(self.path)
        try:
            conn = self.conn  # open now so errors surface at construction
            version = schema.user_version(conn)
        except sqlite3.DatabaseError as e:
            if is_damage(e):
                raise damaged(self.path, str(e)) from e
            if isinstance(e, sqlite3.OperationalError):
                raise explain(e, self.path) from e
            raise
        if version > schema.SCHEMA_VERSION:
            raise CatalogVersionError(
                f"the catalog at {self.path} has schema version {version}, newer than this "
                f"Model Desk understands ({schema.SCHEMA_VERSION}); update Model Desk to open it")
        if version < schema.SCHEMA_VERSION:
            if read_only:
                raise CatalogVersionError(
                    f"the catalog at {self.path} needs a migration but is opened read-only")
            schema.migrate(conn)

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            uri = f"file:{self.path}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False, factory=_Connection)
        else:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False, factory=_Connection)
        conn.catalog_path = self.path
        conn.row_factory = sqlite3.Row
        if not self.read_only:
            _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        with self._lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        udb = getattr(self._local, "udb", None)
        if udb is None or udb.conn is not self.conn:
            udb = sqlite_utils.Database(self.conn, execute_plugins=False)
            self._local.udb = udb
        return udb

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                with contextlib.suppress(Exception):
                    c.close()
            self._all.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE, so no lock upgrade can deadlock); nests as a savepoint."""
        if self.read_only:
            raise UserError(f"the catalog at {self.path} is open read-only (another Model Desk holds it)")
        conn = self.conn
        depth = self._local.depth
        if depth == 0:
            _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
        else:
            conn.execute(f"SAVEPOINT sp{depth}")
        self._local.depth = depth + 1
        try:
            yield conn
        except BaseException as e:
            self._local.depth = depth
            if depth == 0:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            elif conn.in_transaction:   # SQLite rolls the whole transaction back itself on some errors (full)
                conn.execute(f"ROLLBACK TO sp{depth}")
                conn.execute(f"RELEASE sp{depth}")
            if isinstance(e, sqlite3.OperationalError) and _is_user_fixable(e):
                raise explain(e, self.path) from e
            raise
        else:
            self._local.depth = depth
            if depth == 0:
                _retry_busy(lambda: conn.execute("COMMIT"))
            else:
                conn.execute(f"RELEASE sp{depth}")

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def query_one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row is not None else None

    def insert(self, table: str, values: dict[str, Any]) -> None:
        cols = list(values)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        with self.transaction() as conn:
            conn.execute(sql, [_encode(values[c]) for c in cols])

    def update(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> int:
        if not values:
            return 0
        sets = ", ".join(f"{c} = ?" for c in values)
        where = " AND ".join(f"{c} = ?" for c in key)
        with self.transaction() as conn:
            cur = conn.execute(f"UPDATE {table} SET {sets} WHERE {where}",
                               [_encode(v) for v in values.values()] + list(key.values()))
            return cur.rowcount


SQLITE_HEADER = b"SQLite format 3\x00"


def check_database_file(path: Path) -> bool:
    """Whether the catalog database exists; one that exists but is no SQLite database (empty, a folder,
    another kind of file) is refused here, before SQLite would take it for a new, empty database."""
    if not os.path.lexists(path):
        return False
    problem = database_file_problem(path)
    if problem:
        raise damaged(path, problem)
    return True


def database_file_problem(path: Path) -> str | None:
    """Why an existing file cannot be a SQLite database (None: it may be one, or SQLite will say why not)."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except IsADirectoryError:
        return "it is a folder, not a file"
    except OSError:
        return None   # unreadable: SQLite reports it as "unable to open", which explain() words
    if not head:
        return "the file is empty (0 bytes)"
    if not head.startswith(SQLITE_HEADER):
        return "it does not start with the SQLite header: overwritten or not a database"
    if len(head) < 100:
        return f"the file is truncated ({len(head)} bytes)"
    return None


# The whole-file check at a program's start (CLI command, window) reads every page; past this size it is left to
# `desktop-app doctor` (quick_check reads about 150 MB/s here: a 128 MB catalog costs under a second).
START_CHECK_MAX_BYTES = 128 * 1024 * 1024


def check_pages(path: Path, max_bytes: int = START_CHECK_MAX_BYTES) -> bool:
    """Damage anywhere in the catalog database, found before a command runs: SQLite reports a damaged page only
    when a statement reads it, so a command whose tables are intact would run on, and the next one fail. Runs
    SQLite's quick_check (every page and index, not the foreign keys) read-only; raises CatalogDamagedError naming
    the file. Returns False when the check did not run (no database, or larger than max_bytes)."""
    path = Path(path)
    if not check_database_file(path):
        return False
    if path.stat().st_size > max_bytes:
        return False
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            rows = [r[0] for r in con.execute("PRAGMA quick_check(5)").fetchall()]
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        if is_damage(e):
            raise damaged(path, str(e)) from None
        return False    # busy, locked, unreadable: the command's own open words it
    if rows != ["ok"]:
        raise damaged(path, "SQLite's page check found: " + "; ".join(str(r) for r in rows[:3]))
    return True


def create_database(path: Path) -> None:
    """A new catalog database appears whole: built under a temporary name, then linked into place unless
    another process created one meanwhile (so no process ever sees a half-made, 0-byte catalog)."""
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            schema.migrate(conn)
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass                                  # another process won the race: use its catalog
        except OSError:                           # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
    except sqlite3.OperationalError as e:
        raise explain(e, path) from e
    except PermissionError as e:
        raise UserError(f"cannot create the catalog database {path}: {e}") from None
    finally:
        for p in (tmp, tmp.with_name(tmp.name + "-journal")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def is_damage(e: BaseException) -> bool:
    """SQLite's own word for a damaged database (SQLITE_CORRUPT, SQLITE_NOTADB), not a locked or full one."""
    if not isinstance(e, sqlite3.DatabaseError):
        return False
    name = getattr(e, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return True
    msg = str(e).lower()
    return "malformed" in msg or "not a database" in msg


def damaged(path: Path, detail: str) -> CatalogDamagedError:
    path = Path(path)
    return CatalogDamagedError(
        f"the catalog database {path} is damaged: {detail}. Check it with "
        f"`desktop-app --home {path.parent} doctor`; `desktop-app --home {path.parent} doctor --repair` copies "
        f"what is still readable into a new catalog beside it (or restore a backup)", path=str(path))


class _Connection(sqlite3.Connection):
    """A connection whose statements report a damaged database as CatalogDamagedError, naming the file."""

    catalog_path: Path

    def execute(self, *args, **kwargs):
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.DatabaseError as e:
            if is_damage(e):
                raise damaged(self.catalog_path, str(e)) from e
            raise

    def executemany(self, *args, **kwargs):
        try:
            return super().executemany(*args, **kwargs)
        except sqlite3.DatabaseError as e:
            if is_damage(e):
                raise damaged(self.catalog_path, str(e)) from e
            raise


def _is_user_fixable(e: sqlite3.OperationalError) -> bool:
    msg = str(e).lower()
    return any(k in msg for k in ("disk is full", "readonly", "read-only", "unable to open", "disk i/o"))


def explain(e: sqlite3.OperationalError, path: Path) -> Exception:
    """Errors the user can fix, said plainly; anything else stays a bug report."""
    msg = str(e).lower()
    if "disk is full" in msg:
        return UserError(f"the disk holding the catalog ({path.parent}) is full; nothing was written. "
                         f"Free some space (or garbage-collect the catalog) and try again")
    if "readonly" in msg or "read-only" in msg:
        return UserError(f"the catalog at {path.parent} is read-only for this user; open it read-only or "
                         f"choose another folder")
    if "unable to open" in msg or "disk i/o" in msg:
        return UserError(f"cannot open the catalog database {path}: {e} (is the folder readable and writable?)")
    return e


def _encode(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return to_json(value)
    return value


def _retry_busy(fn, attempts: int = 50):
    """busy_timeout covers most waits; BEGIN/COMMIT under WAL checkpoints can still report BUSY."""
    delay = 0.01
    for i in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as e:
            msg = str(e).lower()
            if "locked" not in msg and "busy" not in msg:
                raise
            if i == attempts - 1:
                raise CatalogBusyError(f"the catalog database stayed locked by another process: {e}") from e
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
