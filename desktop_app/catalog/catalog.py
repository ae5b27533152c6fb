"""The Catalog: one folder holding catalog.db (SQLite) and a content-addressed store of files."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Iterator

from desktop_app.errors import UserError

from . import scratch
from .data import DataMixin
from .db import Database
from .entities import EntitiesMixin
from .lifecycle import LifecycleMixin
from .model_search import ModelSearch
from .paths import default_home
from .pipeline_queries import DataVersionQueries, PipelineRunQueries
from .runs import RunsMixin
from .schema import STORE_REFERENCES
from .scoring_queries import ScoringQueries
from .store import BlobStore

DB_NAME = "catalog.db"
STALE_TMP_S = 3600.0


class _ReadOnlyStore(BlobStore):
    """Reads from the store without creating anything in it."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.tmp = self.root / "tmp"


class Catalog(EntitiesMixin, DataMixin, RunsMixin, LifecycleMixin):
    """Every read and write of the catalog goes through here; callers get typed records back.

    Named queries of one room live in small modules beside this one, reached as attributes:
    `pipeline_runs` and `data_versions` (pipelines), `scoring` (evaluation), `model_search` (the search grammar
    over models, model_search.py). A model's or a job's status changes
    only through `set_model_status` / `set_execution_status` (lifecycle.py: the one table of transitions)."""

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
        self._db = Database(self.home / DB_NAME, read_only=read_only)
        self.read_only = read_only
        self.pipeline_runs = PipelineRunQueries(self._db)
        self.data_versions = DataVersionQueries(self._db)
        self.scoring = ScoringQueries(self._db)
        self.model_search = ModelSearch(self._db)

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
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Every catalog call made inside lands together or not at all (one BEGIN IMMEDIATE write transaction,
        so two processes' compare-and-sets serialise; nested, a savepoint of the outer one)."""
        with self._db.transaction():
            yield

    def integrity_check(self) -> str:
        return self._db.scalar("PRAGMA integrity_check")

    def package_exists(self, name: str) -> bool:
        """Whether a package of this name exists (in any project)."""
        return bool(self._db.scalar("SELECT 1 FROM packages WHERE name = ?", (name,)))

    def model_aliases(self, package_id: str, model_id: str) -> list[str]:
        """The aliases of the package that point at this model ('champion', ...), by name."""
        rows = self._db.query("SELECT alias FROM model_aliases WHERE package_id = ? AND model_id = ? ORDER BY alias",
                             (package_id, model_id))
        return [r["alias"] for r in rows]

    # -- housekeeping ---------------------------------------------------------------------
    def referenced_blobs(self) -> set[str]:
        shas: set[str] = set()
        for sql in STORE_REFERENCES.values():
            shas.update(r[1] for r in self._db.conn.execute(sql))
        return shas

    def garbage_collect(self, *, dry_run: bool = False) -> dict[str, int]:
        """Delete store files nothing in the database refers to, the temporary files of writes that never
        finished (a killed import's), and the scratch folders of jobs that succeeded or are gone ("scratch_folders",
        "scratch_bytes"; catalog.scratch). Store files only while no process writes into the store: a running
        import's files are not referenced until it commits, so with one running none is deleted ("busy": 1).
        "freed_bytes" counts everything freed; "removed", the store's files."""
        leftovers = scratch.leftover_dirs(self)
        scratch_bytes = sum(scratch.folder_size(p) if dry_run else scratch.remove(p) for p in leftovers)
        folders = {"scratch_folders": len(leftovers), "scratch_bytes": scratch_bytes}
        removed, freed, temp = 0, scratch_bytes, 0
        with self.store.writers.try_alone() as alone:
            if alone is False:
                return {"removed": 0, "freed_bytes": freed, "kept": 0, "temp_files": 0, "busy": 1, **folders}
            keep = self.referenced_blobs()
            for sha in list(self.store.iter_shas()):
                if sha not in keep:
                    freed += self.store.size_of(sha)
                    if not dry_run:
                        self.store.delete(sha)
                    removed += 1
            # Where no lock can tell (Windows), a temporary file untouched for an hour is taken as abandoned.
            horizon = time.time() - (0 if alone else STALE_TMP_S)
            for p in list(self.store.iter_tmp()):
                with contextlib.suppress(FileNotFoundError):
                    st = p.stat()
                    if st.st_mtime <= horizon:
                        if not dry_run:
                            p.unlink()
                        temp += 1
                        freed += st.st_size
        return {"removed": removed + temp, "freed_bytes": freed, "kept": len(keep), "temp_files": temp, "busy": 0,
                **folders}
