"""Check a catalog folder for damage (`desktop-app doctor`) and copy what is readable into a new one (--repair).

Works on the files directly, never through Catalog: a damaged database cannot be opened the usual way, and
a check must not migrate, bootstrap or otherwise write to what it examines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from desktop_app.errors import CatalogDamagedError, CatalogVersionError, UserError

from . import schema
from .db import SQLITE_HEADER, database_file_problem, is_damage
from .store import file_sha256, is_sha256

DB_NAME = "catalog.db"
_SHOWN = 5                      # examples listed per finding
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

Progress = Callable[[str], None]


@dataclass
class Finding:
    severity: str               # "error": damage, data at risk; "warning": waste or a step to take
    check: str                  # file, schema, integrity, foreign keys, references, store, content, temporary files
    message: str

    def to_json(self) -> dict:
        return {"severity": self.severity, "check": self.check, "message": self.message}


@dataclass
class DoctorReport:
    home: Path
    findings: list[Finding] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    store_files: int = 0
    schema_version: int | None = None

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def add(self, severity: str, check: str, message: str) -> None:
        self.findings.append(Finding(severity, check, message))

    def to_json(self) -> dict:
        return {"home": str(self.home), "ok": self.ok, "schema_version": self.schema_version, "rows": self.rows,
                "store_files": self.store_files, "findings": [f.to_json() for f in self.findings]}


@dataclass
class RepairReport:
    source: Path
    target: Path
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)    # copied, lost (None: unknown), dropped
    files_copied: int = 0
    files_missing: list[str] = field(default_factory=list)
    files_damaged: list[str] = field(default_factory=list)

    @property
    def rows_lost(self) -> bool:
        return any(t["lost"] != 0 or t["dropped"] for t in self.tables.values())

    def to_json(self) -> dict:
        return {"source": str(self.source), "target": str(self.target), "tables": self.tables,
                "files_copied": self.files_copied, "files_missing": self.files_missing,
                "files_damaged": self.files_damaged}


# -- checking -----------------------------------------------------------------------------------------
def check_catalog(home: Path | str, *, content: bool = False) -> DoctorReport:
    """Every check that can run: the database file, schema version, SQLite's integrity and foreign-key checks,
    row counts, store references (well formed, file present), files nothing references, leftover temporary
    files, and with `content` each store file's sha256 against its name."""
    home = Path(home)
    report = DoctorReport(home)
    db_path = home / DB_NAME
    if not home.is_dir():
        report.add("error", "file", f"{home} is not a folder")
        return report
    if not db_path.exists():
        report.add("error", "file", f"{db_path} does not exist (no catalog here)")
        return report
    problem = database_file_problem(db_path)
    if problem:
        report.add("error", "file", f"{db_path}: {problem}")
    referenced: dict[str, list[str]] | None = None
    if not problem:
        with _open(db_path) as conn:
            referenced = _check_database(conn, db_path, report)
    _check_store(home / "store", referenced, report, content=content)
    return report


@contextlib.contextmanager
def _open(db_path: Path, *, read_only: bool = True) -> Iterator[sqlite3.Connection]:
    """Read-only: SQLite neither checkpoints nor recovers into the file being examined."""
    if read_only:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def _check_database(conn: sqlite3.Connection, db_path: Path, report: DoctorReport) -> dict[str, list[str]] | None:
    """Returns sha -> the rows naming it, or None where the references could not all be read."""
    def failed(check: str, e: sqlite3.DatabaseError) -> None:
        report.add("error", check, f"{db_path}: {'damaged: ' if is_damage(e) else ''}{e}")

    try:
        version = report.schema_version = schema.user_version(conn)
    except sqlite3.DatabaseError as e:
        failed("schema", e)
        return None
    if version > schema.SCHEMA_VERSION:
        report.add("error", "schema", f"schema version {version} is newer than this Model Desk understands "
                                      f"({schema.SCHEMA_VERSION}); check it with a newer Model Desk")
    elif version < schema.SCHEMA_VERSION:
        report.add("warning", "schema", f"schema version {version}: opening the catalog migrates it to "
                                        f"{schema.SCHEMA_VERSION}")
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check(100)")]
        if problems != ["ok"]:
            report.add("error", "integrity", f"SQLite's integrity check finds {len(problems)}"
                                             f"{'+' if len(problems) == 100 else ''} problem(s): "
                                             + "; ".join(problems[:_SHOWN]))
    except sqlite3.DatabaseError as e:
        failed("integrity", e)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    except sqlite3.DatabaseError as e:
        failed("integrity", e)
        return None
    for t in tables:
        try:
            report.rows[t] = conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
        except sqlite3.DatabaseError as e:
            report.add("error", "integrity", f"table {t} cannot be read in full: {e}")
    try:
        violations: dict[tuple[str, str], int] = {}
        for table, _rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check"):
            violations[(table, parent)] = violations.get((table, parent), 0) + 1
        for (table, parent), n in sorted(violations.items()):
            report.add("error", "foreign keys", f"{n} row(s) of {table} refer to {parent} rows that do not exist")
    except sqlite3.DatabaseError as e:
        failed("foreign keys", e)
    referenced: dict[str, list[str]] = {}
    complete = True
    for ref, sql in schema.STORE_REFERENCES.items():
        if ref.split(".")[0] not in tables:
            continue
        malformed: list[str] = []
        try:
            for row_id, sha in conn.execute(sql):
                if is_sha256(sha):
                    referenced.setdefault(sha, []).append(f"{ref} of row {row_id}")
                else:
                    malformed.append(f"row {row_id}: {sha!r}")
        except sqlite3.DatabaseError as e:
            report.add("error", "references", f"{ref} cannot be read in full: {e}")
            complete = False
        if malformed:
            report.add("error", "references", f"{len(malformed)} value(s) of {ref} are not store references "
                                              f"(64 lowercase hex digits): " + ", ".join(malformed[:_SHOWN]))
    return referenced if complete else None


def _check_store(store: Path, referenced: dict[str, list[str]] | None, report: DoctorReport, *,
                 content: bool) -> None:
    files = _store_files(store)
    report.store_files = len(files)
    named = set(files.values())
    stray = [p for p in _all_files(store) if p not in named and p.parent not in (store / "tmp", store / "indexes")
             and p != store / "writers.lock"]        # indexes/: feature sets' search indexes (ml.ann_index)
    if stray:
        report.add("warning", "store", f"{len(stray)} file(s) in the store are not named by a sha256 (nothing "
                                       f"uses them): " + ", ".join(str(p.relative_to(store)) for p in stray[:_SHOWN]))
    if referenced is not None:
        missing = sorted(sha for sha in referenced if sha not in files)
        if missing:
            rows = [f"{referenced[sha][0]} ({sha[:12]}…)" for sha in missing[:_SHOWN]]
            report.add("error", "references", f"{len(missing)} referenced file(s) are missing from the store: "
                                              + ", ".join(rows))
        orphans = [sha for sha in files if sha not in referenced]
        if orphans:
            size = sum(_size(files[s]) for s in orphans)
            report.add("warning", "store", f"{len(orphans)} file(s) in the store ({size} bytes) are referenced by "
                                           f"nothing; `desktop-app gc` deletes them")
    else:
        report.add("warning", "store", "the references could not all be read, so unreferenced files are not "
                                       "counted")
    tmp = [p for p in _all_files(store / "tmp")]
    if tmp:
        report.add("warning", "temporary files", f"{len(tmp)} file(s) in store/tmp ({sum(map(_size, tmp))} bytes): "
                                                 f"writes in progress, or left by an interrupted one; `desktop-app "
                                                 f"gc` deletes them when nothing writes")
    if content:
        bad = [sha for sha, p in sorted(files.items()) if file_sha256(p) != sha]
        if bad:
            report.add("error", "content", f"{len(bad)} store file(s) no longer hold what their sha256 names: "
                                           + ", ".join(b[:12] + "…" for b in bad[:_SHOWN]))


def _store_files(store: Path) -> dict[str, Path]:
    out = {}
    for p in store.glob("??/??/*") if store.is_dir() else []:
        if p.is_file() and not p.is_symlink() and is_sha256(p.name) and p.parent.name == p.name[2:4] \
                and p.parent.parent.name == p.name[:2]:
            out[p.name] = p
    return out


def _all_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def format_report(report: DoctorReport) -> str:
    lines = [f"Catalog {report.home}"]
    if report.schema_version is not None:
        lines.append(f"  schema version {report.schema_version}; {report.store_files} store file(s); rows: "
                     + ", ".join(f"{t} {n}" for t, n in sorted(report.rows.items()) if n))
    for f in report.findings:
        lines.append(f"  {f.severity.upper()} [{f.check}] {f.message}")
    if report.ok:
        lines.append("No damage found." + (" (warnings above)" if report.findings else ""))
    else:
        lines.append(f"Damage found. `desktop-app --home {report.home} doctor --repair` copies what is readable "
                     f"into a new catalog beside this one (this one is left as it is); or restore a backup.")
    return "\n".join(lines)


# -- repairing ----------------------------------------------------------------------------------------
def repair_catalog(home: Path | str, target: Path | str | None = None, *,
                   progress: Progress | None = None) -> RepairReport:
    """Copy every readable row (table by table; row by row where a table cannot be read whole) and the store
    files they reference into a new catalog folder beside `home` (`<home>.repaired-<time>`); `home` itself
    is only read. Rows whose parent row was lost are dropped; files missing or damaged are listed."""
    home = Path(home)
    db_path = home / DB_NAME
    if not db_path.is_file():
        raise UserError(f"{db_path} does not exist: there is nothing to repair")
    if db_path.stat().st_size < 512:
        raise CatalogDamagedError(f"{db_path} cannot be repaired: it holds {db_path.stat().st_size} bytes, no "
                                  f"table at all; restore a backup", path=str(db_path))
    target = Path(target) if target is not None else \
        home.with_name(f"{home.name}.repaired-{time.strftime('%Y%m%d-%H%M%S')}")
    if target.exists():
        raise UserError(f"{target} already exists; choose another folder for the repaired catalog")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "store" / "tmp").mkdir(parents=True)
    report = RepairReport(home, target)
    try:
        # Read from a private copy with a header SQLite accepts: the original stays as it is.
        copy, version = _readable_copy(db_path, partial / ".damaged-copy.db")
        with _open(copy, read_only=False) as src:
            if version > schema.SCHEMA_VERSION:
                raise CatalogVersionError(f"{db_path} has schema version {version}, newer than this Model Desk "
                                          f"understands ({schema.SCHEMA_VERSION}); repair it with a newer one")
            dest = sqlite3.connect(str(partial / DB_NAME), isolation_level=None)
            try:
                schema.migrate(dest, max(version, 1))
                dest.execute("PRAGMA foreign_keys = OFF")
                dest.execute("BEGIN")
                for table in _tables(dest):
                    if progress:
                        progress(f"copying {table}")
                    report.tables[table] = _copy_table(src, dest, table)
                dest.execute("COMMIT")
                _drop_orphans(dest, report)
                shas = _references(dest)
            finally:
                dest.close()
        for p in partial.glob(".damaged-copy.db*"):
            p.unlink()
        if progress:
            progress(f"copying {len(shas)} store file(s)")
        _copy_files(home / "store", partial / "store", shas, report)
        os.replace(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return report


def _readable_copy(db_path: Path, copy: Path) -> tuple[Path, int]:
    """A copy of the database whose 100-byte header SQLite accepts, and its schema version.

    A truncated file still claims its old page count (SQLite then calls every table malformed): the count is
    set to what the file holds. A header that is overwritten is rebuilt (page size found by trying, schema
    version from the tables and indexes present). The rows themselves are never touched."""
    shutil.copyfile(db_path, copy)
    wal = db_path.with_name(db_path.name + "-wal")
    has_wal = wal.is_file() and wal.stat().st_size > 0
    if has_wal:
        shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    with open(copy, "r+b") as f:
        head = bytearray(f.read(100))
        size = os.fstat(f.fileno()).st_size
        rebuilt = not head.startswith(SQLITE_HEADER)
        sizes = [_page_size(head)] if not rebuilt else [4096, 1024, 2048, 8192, 16384, 32768, 65536, 512]
        for page_size in sizes:
            if rebuilt:
                head = _fresh_header(page_size)
            head[28:32] = (size // page_size).to_bytes(4, "big")       # the pages the file really holds
            if not has_wal:
                head[18] = head[19] = 1                                  # no WAL to read: rollback journal
            f.seek(0)
            f.write(head)
            f.flush()
            version = _probe(copy, rebuilt)
            if version is not None:
                return copy, version
    raise CatalogDamagedError(f"{db_path} cannot be repaired: SQLite cannot read its table list"
                              f"{' (its header is overwritten)' if rebuilt else ''}; restore a backup",
                              path=str(db_path))


def _page_size(head: bytes) -> int:
    n = int.from_bytes(head[16:18], "big")
    return 65536 if n == 1 else n if n >= 512 and n & (n - 1) == 0 else 4096


def _fresh_header(page_size: int) -> bytearray:
    h = bytearray(100)
    h[0:16] = SQLITE_HEADER
    h[16:18] = (1 if page_size == 65536 else page_size).to_bytes(2, "big")
    h[18], h[19], h[20], h[21], h[22], h[23] = 1, 1, 0, 64, 32, 32
    h[24:28] = h[92:96] = (1).to_bytes(4, "big")                     # change counter = version-valid-for
    h[40:44] = (1).to_bytes(4, "big")                                # schema cookie
    h[44:48] = (4).to_bytes(4, "big")                                # schema format
    h[56:60] = (1).to_bytes(4, "big")                                # UTF-8
    major, minor, patch = sqlite3.sqlite_version_info
    h[96:100] = (major * 1000000 + minor * 1000 + patch).to_bytes(4, "big")
    return h


def _probe(copy: Path, rebuilt: bool) -> int | None:
    """The schema version of the copy, or None when SQLite cannot read its table list."""
    try:
        with _open(copy, read_only=False) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if not rebuilt:
                return schema.user_version(conn)
            version = _version_from_names(names)
            if version:
                conn.execute(f"PRAGMA user_version = {version}")
            return version or None
    except sqlite3.DatabaseError:
        return None


def _version_from_names(names: set[str]) -> int:
    """The newest schema version whose tables and indexes are all present (0: not a catalog)."""
    found = 0
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for v in range(1, schema.SCHEMA_VERSION + 1):
            schema.migrate(scratch, v)
            if {r[0] for r in scratch.execute("SELECT name FROM sqlite_master")} <= names:
                found = v
    finally:
        scratch.close()
    return found


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                       "'sqlite_%' ORDER BY rowid")]


def _copy_table(src: sqlite3.Connection, dest: sqlite3.Connection, table: str) -> dict[str, Any]:
    cols = [r[1] for r in dest.execute(f'PRAGMA table_info("{table}")')]
    try:
        have = {r[1] for r in src.execute(f'PRAGMA table_info("{table}")')}
    except sqlite3.DatabaseError:
        have = set()
    cols = [c for c in cols if c in have]
    if not cols:
        return {"copied": 0, "lost": None, "dropped": 0, "note": "table unreadable"}
    names = ", ".join(f'"{c}"' for c in cols)
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({", ".join("?" * len(cols))})'
    rows, skipped = _salvage(src, table, names)
    copied = 0
    for row in rows:
        copied += dest.execute(insert, row).rowcount
    try:
        expected = src.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        lost: int | None = max(0, expected - copied)
    except sqlite3.DatabaseError:
        lost = None if skipped else len(rows) - copied
    out: dict[str, Any] = {"copied": copied, "lost": lost, "dropped": 0}
    if skipped:
        out["unreadable_ranges"] = skipped
    return out


def _salvage(src: sqlite3.Connection, table: str, names: str) -> tuple[list[tuple], list[str]]:
    """Every row that can be read, in rowid order; a damaged page is stepped over by seeking further and
    further past the last good row. Returns the rows and the rowid ranges stepped over."""
    sql = f'SELECT rowid, {names} FROM "{table}" WHERE rowid > ? ORDER BY rowid'
    rows: list[tuple] = []
    skipped: list[str] = []
    try:
        top = src.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]
        top = _INT64_MAX if top is None else int(top)
    except sqlite3.DatabaseError:
        top = _INT64_MAX
    last = _INT64_MIN
    while True:
        try:
            for r in src.execute(sql, (last,)):
                rows.append(tuple(r[1:]))
                last = r[0]
            return rows, skipped
        except sqlite3.DatabaseError:
            pass
        step = 1
        while True:
            probe = min(last + step, top) if last > _INT64_MIN else _INT64_MIN + step
            try:
                nxt = src.execute(f'SELECT rowid FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT 1',
                                  (probe,)).fetchone()
            except sqlite3.DatabaseError:
                if probe >= top or step > _INT64_MAX // 4:
                    skipped.append(f"{_show(last)}..end")
                    return rows, skipped
                step *= 2
                continue
            skipped.append(f"{_show(last)}..{probe}")
            if nxt is None:
                return rows, skipped
            last = probe
            break


def _show(rowid: int) -> str:
    return "start" if rowid == _INT64_MIN else str(rowid + 1)


def _drop_orphans(dest: sqlite3.Connection, report: RepairReport) -> None:
    """Rows whose parent row was lost (an annotation without its item) go: the catalog's foreign keys hold."""
    for _ in range(10):               # each pass may orphan children of what it dropped
        bad = dest.execute("PRAGMA foreign_key_check").fetchall()
        if not bad:
            return
        dest.execute("BEGIN")
        for table, rowid, _parent, _fk in bad:
            dest.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))
            t = report.tables.setdefault(table, {"copied": 0, "lost": 0, "dropped": 0})
            t["dropped"] += 1
            t["copied"] -= 1
        dest.execute("COMMIT")


def _references(conn: sqlite3.Connection) -> set[str]:
    tables = set(_tables(conn))
    shas: set[str] = set()
    for ref, sql in schema.STORE_REFERENCES.items():
        if ref.split(".")[0] in tables:
            shas.update(sha for _id, sha in conn.execute(sql) if is_sha256(sha))
    return shas


def _copy_files(src_store: Path, dest_store: Path, shas: set[str], report: RepairReport) -> None:
    """Each referenced file whose content still matches its name: hard-linked where the file system allows
    (store files are never changed in place), copied otherwise."""
    for sha in sorted(shas):
        src = src_store / sha[:2] / sha[2:4] / sha
        if not src.is_file():
            report.files_missing.append(sha)
            continue
        if file_sha256(src) != sha:
            report.files_damaged.append(sha)
            continue
        dest = dest_store / sha[:2] / sha[2:4] / sha
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dest)
        except OSError:
            shutil.copyfile(src, dest)
        report.files_copied += 1


def format_repair(report: RepairReport) -> str:
    lines = [f"Repaired copy of {report.source} written to {report.target}", "  rows copied (lost / dropped):"]
    for table, t in report.tables.items():
        lost = "unknown" if t["lost"] is None else t["lost"]
        extra = f", unreadable rowids {', '.join(t['unreadable_ranges'])}" if t.get("unreadable_ranges") else ""
        lines.append(f"    {table}: {t['copied']} ({lost} / {t['dropped']}){extra}")
    lines.append(f"  store files copied: {report.files_copied}; missing: {len(report.files_missing)}; damaged: "
                 f"{len(report.files_damaged)}")
    if report.files_missing or report.files_damaged:
        lines.append("  rows that name a missing or damaged file are kept; `desktop-app doctor` on the new "
                     "catalog lists them")
    lines.append(f"The original folder is unchanged. Check the copy (`desktop-app --home {report.target} doctor`), "
                 f"then use it in its place.")
    return "\n".join(lines)
