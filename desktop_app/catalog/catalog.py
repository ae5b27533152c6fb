"""The Catalog: one folder holding catalog.db (SQLite) and a content-addressed store of files."""

from __future__ import annotations

import os
from pathlib import Path

from desktop_app.errors import UserError

from .data import DataMixin
from .db import Database
from .entities import EntitiesMixin
from .paths import default_home
from .runs import RunsMixin
from .store import BlobStore

DB_NAME = "catalog.db"


class _ReadOnlyStore(BlobStore):
    """Reads from the store without creating anything in it."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.tmp = self.root / "tmp"


class Catalog(EntitiesMixin, DataMixin, RunsMixin):
    """Every read and write of the catalog goes through here; callers get typed records back."""

    def __init__(self, home: Path | str | None = None, *, read_only: bool = False):
        self.home = Path(home) if home is not None else default_home()
        try:
            if not read_only:
                self.home.mkdir(parents=True, exist_ok=True)
                if not os.access(self.home, os.W_OK):
                    raise PermissionError(f"{self.home} is not writable")
            self.store = BlobStore(self.home / "store") if not read_only else _ReadOnlyStore(self.home / "store")
        except PermissionError as e:
            raise UserError(f"the catalog folder {self.home} is read-only for this user ({e}); open it "
                            f"read-only (Catalog(read_only=True)) or choose another folder") from None
        self.db = Database(self.home / DB_NAME, read_only=read_only)
        self.read_only = read_only

    def __repr__(self) -> str:
        return f"Catalog({str(self.home)!r})"

    @property
    def work_dir(self) -> Path:
        """Scratch space for jobs (prepared data, checkpoints); inside the catalog so it moves with it."""
        p = self.home / "work"
        p.mkdir(exist_ok=True)
        return p

    @property
    def logs_dir(self) -> Path:
        p = self.home / "logs"
        p.mkdir(exist_ok=True)
        return p

    def close(self) -> None:
        self.db.close()

    def integrity_check(self) -> str:
        return self.db.scalar("PRAGMA integrity_check")

    # -- housekeeping ---------------------------------------------------------------------
    def referenced_blobs(self) -> set[str]:
        shas: set[str] = set()
        for sql in ("SELECT sha256 FROM items WHERE sha256 IS NOT NULL",
                    "SELECT sha256 FROM artifacts",
                    "SELECT codebase_sha FROM packages WHERE codebase_sha IS NOT NULL",
                    "SELECT cache_sha FROM evaluations WHERE cache_sha IS NOT NULL"):
            shas.update(r[0] for r in self.db.conn.execute(sql))
        # Pipeline runs keep the frozen snapshot of the data they used.
        shas.update(r[0] for r in self.db.conn.execute(
            "SELECT json_extract(details, '$.snapshot.sha') FROM pipeline_runs "
            "WHERE json_extract(details, '$.snapshot.sha') IS NOT NULL"))
        return shas

    def garbage_collect(self, *, dry_run: bool = False) -> dict[str, int]:
        """Delete store files nothing in the database refers to."""
        keep = self.referenced_blobs()
        removed = freed = 0
        for sha in list(self.store.iter_shas()):
            if sha not in keep:
                freed += self.store.size_of(sha)
                if not dry_run:
                    self.store.delete(sha)
                removed += 1
        return {"removed": removed, "freed_bytes": freed, "kept": len(keep)}
