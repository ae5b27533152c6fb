"""Catalog housekeeping: sizes by kind, deleting a model with its files, backup to one archive, restore."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Callable

from desktop_app.errors import CatalogVersionError, UserError, ValidationError

from . import schema, scratch
from .catalog import DB_NAME, Catalog
from .db import database_file_problem
from .entities import models_remain
from .names import check_stored_names
from .records import ModelStatus
from .store import file_sha256, is_sha256

ARCHIVE_ROOT = "model-desk-catalog"
log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]     # (bytes done, bytes in all); called from the working thread


def _dir_size(p: Path) -> int:
    total = 0
    if p.exists():
        for f in p.rglob("*"):
            if f.is_file() and not f.is_symlink():
                total += f.stat().st_size
    return total


def sizes(catalog: Catalog) -> dict[str, int]:
    """Bytes used, by kind: database, images, model weights, package code, evaluation caches, other files,
    job scratch space (that of queued, running and resumable jobs; apart, what finished jobs left, which gc
    frees) and logs."""
    kinds = {
        "images": "SELECT DISTINCT sha256 FROM items WHERE sha256 IS NOT NULL",
        "model files": "SELECT DISTINCT sha256 FROM artifacts",
        # Every version's code (package_revisions), not only the current one's (packages).
        "package code": "SELECT codebase_sha FROM packages WHERE codebase_sha IS NOT NULL UNION "
                        "SELECT codebase_sha FROM package_revisions WHERE codebase_sha IS NOT NULL",
        "evaluation caches": "SELECT DISTINCT cache_sha FROM evaluations WHERE cache_sha IS NOT NULL",
    }
    out: dict[str, int] = {}
    seen: set[str] = set()
    for kind, sql in kinds.items():
        shas = {r[0] for r in catalog._db.conn.execute(sql)} - seen
        seen |= shas
        out[kind] = sum(catalog.store.size_of(s) for s in shas)
    out["other stored files"] = sum(catalog.store.size_of(s) for s in catalog.store.iter_shas() if s not in seen)
    home = catalog.home
    out["database"] = sum((home / n).stat().st_size for n in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm")
                          if (home / n).exists())
    leftovers = sum(scratch.folder_size(p) for p in scratch.leftover_dirs(catalog))
    out["job scratch"] = _dir_size(home / "work") - leftovers
    out["finished jobs' scratch"] = leftovers       # what gc frees: folders of jobs that succeeded or are gone
    out["logs"] = _dir_size(home / "logs")
    out["thumbnail cache"] = _dir_size(home / "cache")
    out["total"] = sum(out.values())
    return out


def delete_model(catalog: Catalog, model_id: str) -> dict[str, int]:
    """Delete a model, its artifacts, predictions, metrics, evaluations, feature set, the files only it used, and
    its scratch folders (its jobs' too: a canceled training's checkpoint)."""
    shas = {a.sha256 for a in catalog.list_artifacts(model_id)}
    shas |= {e.cache_sha for e in catalog.list_evaluations(model_id=model_id) if e.cache_sha}
    from .feature_sets import queries as feature_sets
    vectors = feature_sets(catalog).of_model(model_id)                  # its embeddings (its row goes with it)
    shas |= {s for s in ((vectors.sha, vectors.ids_sha) if vectors else ()) if s}
    jobs = [ex.id for ex in catalog.list_executions(model_id=model_id)]   # their records go with the model
    catalog.delete_model(model_id)
    still = catalog.referenced_blobs()
    freed = removed = 0
    for sha in shas - still:
        freed += catalog.store.size_of(sha)
        removed += int(catalog.store.delete(sha))
    # Scratch folders are no stored files ("removed_files"), but what they held is freed too.
    for folder in [*scratch.model_dirs(catalog, model_id), *(scratch.execution_dir(catalog, j) for j in jobs)]:
        freed += scratch.remove(folder)
    return {"removed_files": removed, "freed_bytes": freed}


BUSY_STATUSES = (ModelStatus.PENDING, ModelStatus.TRAINING, ModelStatus.DEPLOYED)   # a job or service uses it now


def delete_package(catalog: Catalog, package_id: str, *, with_models: bool = False) -> dict:
    """Delete a package. While it has models this is refused (UserError naming the package and how many)
    unless ``with_models``: then each model goes as delete_model takes it (weights, evaluations, files only it
    used), and the code of every version of the package that nothing else uses. Returns what went: package,
    models (names), removed_files, freed_bytes."""
    pkg = catalog.get_package(package_id)
    models = catalog.find_models(package_id=package_id)
    if models and not with_models:
        raise models_remain(pkg.name, len(models))
    busy = [m for m in models if m.status in BUSY_STATUSES]
    if busy:
        raise UserError(f"package {pkg.name!r} cannot be deleted now: its model"
                        f"{'s' if len(busy) > 1 else ''} {', '.join(repr(m.name) for m in busy)} "
                        f"{'are' if len(busy) > 1 else 'is'} {busy[0].status} "
                        f"(cancel the job or stop the service first)")
    removed = freed = 0
    code = catalog.package_code_shas(package_id)    # every version's code: models may be on older ones
    for m in models:
        done = delete_model(catalog, m.id)
        removed, freed = removed + done["removed_files"], freed + done["freed_bytes"]
    catalog.delete_package(package_id, with_models=True)
    still = catalog.referenced_blobs()
    for sha in sorted(code - still):
        freed += catalog.store.size_of(sha)
        removed += int(catalog.store.delete(sha))
    summary = {"package": pkg.name, "models": [m.name for m in models], "removed_files": removed,
               "freed_bytes": freed}
    log.info("deleted package %s with %d model(s) %s: %d file(s), %d bytes freed", pkg.name, len(models),
             summary["models"], removed, freed)
    return summary


def backup(catalog: Catalog, archive: Path | str, progress: Progress | None = None) -> Path:
    """One .tar.gz of the database (a consistent online copy) and the store; every path is relative."""
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db_copy = Path(tmp) / DB_NAME
        dest = sqlite3.connect(db_copy)
        with dest:
            catalog._db.conn.backup(dest)
        dest.close()
        files = [(db_copy, f"{ARCHIVE_ROOT}/{DB_NAME}")]
        files += [(catalog.store.path(sha), f"{ARCHIVE_ROOT}/store/{sha[:2]}/{sha[2:4]}/{sha}")
                  for sha in sorted(catalog.store.iter_shas())]
        total = sum(p.stat().st_size for p, _ in files)
        done = 0
        partial = archive.with_name(archive.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for path, arcname in files:
                tar.add(path, arcname=arcname)
                done += path.stat().st_size
                if progress is not None:
                    progress(done, total)
        os.replace(partial, archive)
    return archive


def _check_member(m: tarfile.TarInfo, archive: Path) -> None:
    p = PurePosixPath(m.name)
    if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] != ARCHIVE_ROOT:
        raise ValidationError(f"{archive} holds a path outside the catalog folder: {m.name!r}; refused")
    if not (m.isfile() or m.isdir()):
        raise ValidationError(f"{archive} holds a link or device {m.name!r}; refused")
    rest = p.parts[1:]
    if not rest:
        if not m.isdir():
            raise ValidationError(f"{archive}: its root {m.name!r} is a file, not the catalog folder; refused")
        return
    if rest == (DB_NAME,):
        if not m.isfile():
            raise ValidationError(f"{archive}: its {m.name!r} is a folder, not the catalog database; refused")
        return
    if rest[0] == "store" and len(rest) <= 3 and m.isdir() and all(len(x) == 2 for x in rest[1:]):
        return
    if (len(rest) == 4 and rest[0] == "store" and m.isfile() and is_sha256(rest[3])
            and rest[1] == rest[3][:2] and rest[2] == rest[3][2:4]):
        return
    raise ValidationError(f"{archive} holds {m.name!r}, which is no part of a Model Desk catalog (only "
                          f"{DB_NAME} and store/xx/yy/<sha256> files); refused")


def restore(archive: Path | str, target: Path | str, progress: Progress | None = None) -> Catalog:
    """Unpack a backup into an empty (or new) folder and open it; nothing is written outside `target`.

    The archive is checked before anything reaches `target`: only the database and store files, each store
    file's content matching its name, and the database whole (integrity check), of a schema this Model Desk
    knows, every store reference in it well formed and present in the archive."""
    archive, target = Path(archive), Path(target)
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} is a file; restore into a new folder")
    if target.exists() and any(target.iterdir()):
        raise UserError(f"{target} is not empty; restore into a new folder")
    if archive.is_dir():
        raise ValidationError(f"{archive} is a folder, not a Model Desk backup (a .tar.gz file)")
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise ValidationError(f"{archive} is not a Model Desk backup: {e}") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise ValidationError(f"{archive} is damaged or not a Model Desk backup: {e}") from None
        seen: set[str] = set()
        for m in members:
            _check_member(m, archive)
            name = m.name.rstrip("/")
            if name in seen:
                raise ValidationError(f"{archive} holds {m.name!r} twice; refused")
            seen.add(name)
        if f"{ARCHIVE_ROOT}/{DB_NAME}" not in seen:
            raise ValidationError(f"{archive} holds no {DB_NAME}: not a Model Desk backup")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-restore-"))
        try:
            total, done = sum(m.size for m in members), 0
            for m in members:
                try:
                    tar.extract(m, staging, filter="data")
                except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
                    raise ValidationError(f"{archive}: entry {m.name!r} cannot be read ({e}); the backup is "
                                          f"damaged") from None
                done += m.size
                if progress is not None:
                    progress(done, total)
            src = staging / ARCHIVE_ROOT
            check_restored(src, archive)
            check_stored_names(src / DB_NAME, f"{archive}: entry {ARCHIVE_ROOT}/{DB_NAME}")
            target.mkdir(parents=True, exist_ok=True)
            for child in src.iterdir():
                os.replace(child, target / child.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Catalog(target)


def check_restored(folder: Path, archive: Path) -> None:
    """Refuse an unpacked backup whose database or files cannot be trusted (ValidationError naming the entry)."""
    store = folder / "store"
    held: set[str] = set()
    for f in sorted(store.glob("??/??/*")) if store.is_dir() else []:
        if file_sha256(f) != f.name:
            raise ValidationError(f"{archive}: entry {ARCHIVE_ROOT}/store/{f.relative_to(store).as_posix()} does "
                                  f"not hold what its name says (its sha256 differs): damaged or altered; refused")
        held.add(f.name)
    db_entry = f"{archive}: entry {ARCHIVE_ROOT}/{DB_NAME}"
    db_path = folder / DB_NAME
    problem = database_file_problem(db_path)
    if problem:
        raise ValidationError(f"{db_entry} is not a catalog database ({problem}); refused")
    conn = sqlite3.connect(str(db_path))
    try:
        version = schema.user_version(conn)
        if version > schema.SCHEMA_VERSION:
            raise CatalogVersionError(f"{db_entry} has schema version {version}, newer than this Model Desk "
                                      f"understands ({schema.SCHEMA_VERSION}); update Model Desk to restore it")
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
        if problems != ["ok"]:
            raise ValidationError(f"{db_entry} fails SQLite's integrity check ({'; '.join(problems[:3])}); refused")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for ref, sql in schema.STORE_REFERENCES.items():
            if ref.split(".")[0] not in tables:
                continue                     # an older schema without this table
            for row_id, sha in conn.execute(sql):
                if not is_sha256(sha):
                    raise ValidationError(f"{db_entry}: {ref} of row {row_id} is {sha!r}, not a store reference "
                                          f"(64 lowercase hex digits); refused")
                if sha not in held:
                    raise ValidationError(f"{db_entry}: {ref} of row {row_id} refers to store file {sha}, which "
                                          f"the archive does not hold; refused")
    except sqlite3.DatabaseError as e:
        raise ValidationError(f"{db_entry} cannot be read ({e}); refused") from None
    finally:
        conn.close()
