"""Named queries of feature sets (a model's embeddings): the feature_sets table and its vectors in the store.

One feature set per model. Its vectors are not rows: they are one float32 .npy file (count x size) and one int64
.npy file of the item ids they belong to, both in the content-addressed store. Adding vectors writes two new files
and points the row at them in one transaction (a store file is never changed in place); the files the row held
before are deleted once nothing refers to them (else garbage collection takes them). ``weights_sha`` names the
weights that made the vectors (a digest of the model's artifacts): once the model's artifacts change (trained
again, new weights uploaded), its set is stale and is dropped at its next read (``fresh``) or embed (``add``).
numpy is imported where vectors are read or written, never at start-up (the CLI imports the catalog).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Sequence

from desktop_app.errors import CatalogDamagedError, NotFoundError, ValidationError

from .db import Database
from .records import ItemRecord, Record
from .stamps import new_id, now_iso
from .store import BlobStore

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

CHUNK = 900   # ids per `IN (...)`: under SQLite's old 999-variable limit


@dataclass
class FeatureSetRecord(Record):
    id: str
    model_id: str
    name: str                      # the model's name when the set was made (Dataloop names the set after it)
    project_id: str | None = None
    weights_sha: str = ""          # FeatureSetQueries.weights_sha of the model when its vectors were made
    size: int = 0                  # the vectors' dimension
    count: int = 0                 # how many vectors (items)
    sha: str | None = None         # the vectors: float32 .npy, count x size
    ids_sha: str | None = None     # their item ids: int64 .npy, count
    created_at: str = ""
    updated_at: str = ""


class Vectors(NamedTuple):
    ids: np.ndarray        # int64 [count]
    values: np.ndarray     # float32 [count, size]


class WeightsChanged(ValidationError):
    """The model's weights changed while its items were embedded: the vectors made are not stored."""


class FeatureSetQueries:
    """The feature_sets table and the vectors its rows point at. Reached by `queries(catalog)`."""

    def __init__(self, db: Database, store: BlobStore):
        self._db = db
        self._store = store

    # -- which weights ------------------------------------------------------------------------
    def weights_sha(self, model_id: str) -> str:
        """A digest of the model's artifacts (file names and contents): it changes whenever its weights do."""
        h = hashlib.sha256()
        for r in self._db.query("SELECT filename, sha256 FROM artifacts WHERE model_id = ? ORDER BY filename",
                                (model_id,)):
            h.update(f"{r['filename']}\0{r['sha256']}\n".encode())
        return h.hexdigest()

    def is_stale(self, rec: FeatureSetRecord) -> bool:
        return rec.weights_sha != self.weights_sha(rec.model_id)

    # -- rows ---------------------------------------------------------------------------------
    def get(self, feature_set_id: str) -> FeatureSetRecord:
        row = self._db.query_one("SELECT * FROM feature_sets WHERE id = ?", (feature_set_id,))
        if row is None:
            raise NotFoundError(f"no feature set with id {feature_set_id!r}")
        return FeatureSetRecord.from_row(row)

    def of_model(self, model_id: str) -> FeatureSetRecord | None:
        """The model's feature set as stored (stale or not), None when it has none."""
        row = self._db.query_one("SELECT * FROM feature_sets WHERE model_id = ?", (model_id,))
        return FeatureSetRecord.from_row(row) if row is not None else None

    def find(self, *, project_id: str | None = None, name: str | None = None,
             model_id: str | None = None) -> list[FeatureSetRecord]:
        """Feature sets as stored (stale ones too), oldest first, of one project / name / model when given."""
        where, params = [], []
        for col, val in (("project_id", project_id), ("name", name), ("model_id", model_id)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        sql = "SELECT * FROM feature_sets" + (" WHERE " + " AND ".join(where) if where else "") + \
              " ORDER BY created_at, id"
        return [FeatureSetRecord.from_row(r) for r in self._db.query(sql, params)]

    def fresh(self, recs: Iterable[FeatureSetRecord]) -> list[FeatureSetRecord]:
        """The sets whose model still has the weights that made them; stale ones are dropped here (logged), unless
        the catalog is open read-only (then they are only left out)."""
        out = []
        for rec in recs:
            if not self.is_stale(rec):
                out.append(rec)
            elif not self._db.read_only:
                self.drop(rec.model_id, reason="the model's weights changed since its items were embedded")
        return out

    def drop(self, model_id: str, *, reason: str = "") -> bool:
        """Delete the model's feature set (its files too, once nothing else refers to them). True when one went."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT * FROM feature_sets WHERE model_id = ?", (model_id,)).fetchone()
            if row is None:
                return False
            rec = FeatureSetRecord.from_row(dict(row))
            conn.execute("DELETE FROM feature_sets WHERE id = ?", (rec.id,))
        log.info("feature set %r (model %s, %d vectors) dropped%s", rec.name, model_id, rec.count,
                 f": {reason}" if reason else "")
        self._release([rec.sha, rec.ids_sha])
        return True

    # -- vectors ------------------------------------------------------------------------------
    def read(self, rec: FeatureSetRecord) -> Vectors:
        """The set's item ids and vectors (the vectors memory-mapped, read-only). A set replaced meanwhile by an
        embed job is read again as it is now."""
        import numpy as np
        for attempt in range(3):
            if not rec.count or not rec.sha or not rec.ids_sha:
                return Vectors(np.zeros(0, np.int64), np.zeros((0, rec.size), np.float32))
            try:
                ids = np.load(self._store.path(rec.ids_sha), allow_pickle=False)
                values = np.load(self._store.path(rec.sha), mmap_mode="r", allow_pickle=False)
            except FileNotFoundError:
                again = self.of_model(rec.model_id)
                if again is None or attempt == 2 or (again.sha, again.ids_sha) == (rec.sha, rec.ids_sha):
                    raise CatalogDamagedError(f"feature set {rec.name!r}: its vectors file is missing from the "
                                              f"store; embed the model's items again") from None
                rec = again
                continue
            if ids.shape != (rec.count,) or values.shape != (rec.count, rec.size) or values.dtype != np.float32:
                raise CatalogDamagedError(f"feature set {rec.name!r}: its files hold {values.shape} vectors and "
                                          f"{ids.shape} ids, not {rec.count} x {rec.size}; embed its items again")
            return Vectors(ids.astype(np.int64, copy=False), values)
        raise AssertionError("unreachable")

    def embedded_ids(self, model_id: str, weights_sha: str) -> set[int]:
        """The items the model's set holds vectors of, made with these weights (none when the set is stale)."""
        rec = self.of_model(model_id)
        if rec is None or rec.weights_sha != weights_sha or not rec.count:
            return set()
        return set(self.read(rec).ids.tolist())

    def add(self, model_id: str, ids: Sequence[int], vectors: Any, *, weights_sha: str) -> FeatureSetRecord:
        """Store vectors of items (made with the weights `weights_sha` names) in the model's feature set, made
        when it has none: an item it holds already gets its new vector. A set made by other weights, or holding
        vectors of another size, is replaced (logged). Refused (WeightsChanged) when the model's weights are no
        longer `weights_sha`. Two new store files and one row update, in one transaction."""
        import numpy as np
        ids_arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).reshape(-1)
        vecs = np.asarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != len(ids_arr) or vecs.shape[1] < 1:
            raise ValidationError(f"feature vectors: expected {len(ids_arr)} vectors of one size, got an array of "
                                  f"shape {vecs.shape}")
        if not np.isfinite(vecs).all():
            raise ValidationError("feature vectors must be finite numbers (a NaN or infinity was given)")
        # an id given twice keeps its last vector
        _, last = np.unique(ids_arr[::-1], return_index=True)
        keep = np.sort(len(ids_arr) - 1 - last)
        ids_arr, vecs = ids_arr[keep], vecs[keep]
        now = now_iso()
        with self._store.writing():     # the new files are unreferenced until the row below commits
            with self._db.transaction() as conn:
                model = conn.execute("SELECT name, project_id FROM models WHERE id = ?", (model_id,)).fetchone()
                if model is None:
                    raise NotFoundError(f"no model with id {model_id!r}")
                if self.weights_sha(model_id) != weights_sha:
                    raise WeightsChanged(f"model {model['name']!r}: its weights changed while its items were "
                                         f"embedded; embed them again")
                row = conn.execute("SELECT * FROM feature_sets WHERE model_id = ?", (model_id,)).fetchone()
                old = FeatureSetRecord.from_row(dict(row)) if row is not None else None
                base_ids, base = np.zeros(0, np.int64), np.zeros((0, vecs.shape[1]), np.float32)
                if old is not None and old.count:
                    if old.weights_sha != weights_sha or old.size != vecs.shape[1]:
                        why = ("made by other weights" if old.weights_sha != weights_sha
                               else f"of size {old.size}, the new ones {vecs.shape[1]}")
                        log.info("feature set %r: its %d vectors (%s) replaced", old.name, old.count, why)
                    else:
                        base_ids, base = self.read(old)
                        kept = ~np.isin(base_ids, ids_arr)
                        base_ids, base = base_ids[kept], base[kept]
                all_ids = np.concatenate([base_ids, ids_arr])
                all_vecs = np.concatenate([base, vecs]) if len(base) else np.ascontiguousarray(vecs)
                sha = self._store.put_bytes(_npy(all_vecs))
                ids_sha = self._store.put_bytes(_npy(all_ids))
                values = {"weights_sha": weights_sha, "size": int(vecs.shape[1]), "count": int(len(all_ids)),
                          "sha": sha, "ids_sha": ids_sha, "updated_at": now}
                if old is None:
                    rec = FeatureSetRecord(id=new_id(), model_id=model_id, name=model["name"],
                                           project_id=model["project_id"], created_at=now, **values)
                    cols = list(rec.to_dict())
                    conn.execute(f"INSERT INTO feature_sets ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                 [getattr(rec, c) for c in cols])
                else:
                    conn.execute(f"UPDATE feature_sets SET {', '.join(f'{c} = ?' for c in values)} WHERE id = ?",
                                 [*values.values(), old.id])
        if old is not None:
            self._release([s for s in (old.sha, old.ids_sha) if s not in (sha, ids_sha)])
        return self.of_model(model_id)  # type: ignore[return-value]

    def _release(self, shas: Sequence[str | None]) -> None:
        """Delete files of a set that nothing refers to now; only while no one else writes into the store (a
        writer may be about to refer to the same content), else garbage collection takes them later."""
        shas = [s for s in shas if s]
        if not shas:
            return
        with self._store.writers.try_alone() as alone:
            if not alone:
                return
            for sha in shas:
                if self._db.scalar("SELECT 1 FROM feature_sets WHERE sha = ? OR ids_sha = ?", (sha, sha)):
                    continue
                try:
                    self._store.delete(sha)
                except OSError as e:   # mapped by a reader where that forbids deleting (Windows): gc takes it
                    log.debug("feature file %s kept for now: %s", sha, e)

    # -- items --------------------------------------------------------------------------------
    def existing_items(self, ids: Sequence[int]) -> dict[int, ItemRecord]:
        """The items among `ids` that still exist, by id (a vector's item may have been deleted since)."""
        out: dict[int, ItemRecord] = {}
        ids = [int(i) for i in ids]
        for k in range(0, len(ids), CHUNK):
            part = ids[k:k + CHUNK]
            for r in self._db.query(f"SELECT * FROM items WHERE id IN ({','.join('?' * len(part))})", part):
                out[int(r["id"])] = ItemRecord.from_row(r)
        return out


def _npy(arr: Any) -> bytes:
    import numpy as np
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def queries(catalog: Any) -> FeatureSetQueries:
    """The feature set queries over this catalog's database and store (`catalog.feature_sets` once it holds one)."""
    found = getattr(catalog, "feature_sets", None)
    return found if isinstance(found, FeatureSetQueries) else FeatureSetQueries(catalog._db, catalog.store)
