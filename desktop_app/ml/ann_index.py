"""Approximate nearest-neighbour index of a feature set's vectors (faiss IVF), kept in the store beside them.

Chosen by measurement (bench/embeddings.py --all-libs; 1,000,000 x 256 float32 in 1,000 clusters, cosine, on the
2-core development machine under load): faiss-cpu's IVF-Flat (nlist 4,000 trained on 156,000 rows) built in 42 s
and answered a top-10 in 0.2-1 ms at recall@10 0.999-1.0; usearch's HNSW graph (M 16, ef_construction 64) took
1,238 s (f32) / 527 s (i8) to build and reached only 0.86 / 0.79 recall at ef 128, hnswlib's (the same
parameters) 282 s and 0.88; all answer in under 1 ms. numpy's brute force took 173 ms.
Below MIN_VECTORS exact search answers within a few ms and no index is built. faiss is an optional extra
(`pip install 'model-desk[ann]'`): without it every search is exact, said once in the log.

An index lives in `<store>/indexes/<feature set id>.faiss` (faiss's own format, never a pickle) with a JSON sidecar
naming what it was built from: the model, its weights, the vectors' size, how many rows it holds and a digest of
their item ids, and the index file's sha256. Both are written atomically (a temporary file in the store's tmp
folder, then a rename). An index is used only while those still hold for the set's first rows: rows appended
since are searched exactly and merged in; an index whose rows changed (an item embedded again, other weights), or
whose file is damaged or truncated (its sha256 differs), is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

LIBRARY = "faiss"
FORMAT = 1
INDEX_DIR = "indexes"
# Rows from which `auto` builds and uses an index. Measured (bench/embeddings.py, 256-d): numpy's exact top-10
# takes ~0.2 ms at 10,000 rows, ~10-25 ms at 100,000 and ~170 ms at 1,000,000; the index 0.05-1 ms at each, so
# it is faster from 10,000 rows on, but there it saves a fraction of a millisecond for a build of seconds and a
# recall of 0.94-0.96 (few lists); from 50,000 rows exact search costs several ms a query and the index keeps
# recall >= 0.99.
MIN_VECTORS = 50_000
TRAIN_SAMPLE = 100_000        # rows the coarse quantizer is trained on (a seeded sample)
NPROBE_SHARE = 1 / 64         # of the lists probed per query: nprobe = max(16, nlist / 64)
NPROBE_MIN = 16               # measured: recall@10 0.937 at 10,000 rows with 8 of 256 lists, 0.96 with 16
STALE_TAIL = 0.25             # rows appended since the build, as a share of the indexed ones, before a rebuild
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_CACHE_SIZE = 2               # indexes kept loaded in this process (each as large as its vectors)

_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int], VectorIndex]] = {}
_said_missing = False


def available() -> bool:
    """Whether faiss is installed; said once in the log when it is not (searches are then exact)."""
    global _said_missing
    try:
        import faiss  # noqa: F401
    except ImportError:
        if not _said_missing:
            _said_missing = True
            log.info("faiss is not installed: nearest-neighbour searches are exact (numpy); install the `ann` extra "
                     "(pip install 'model-desk[ann]') for an approximate index over large feature sets")
        return False
    return True


def ids_digest(ids: np.ndarray) -> str:
    """sha256 of item ids as int64: what an index's rows must still be for it to be used."""
    return hashlib.sha256(np.ascontiguousarray(ids, dtype=np.int64).tobytes()).hexdigest()


@dataclass
class IndexMeta:
    """What an index file was built from, kept in its JSON sidecar."""
    feature_set_id: str
    model_id: str
    weights_sha: str
    dim: int
    count: int                 # rows indexed: the set's first `count` rows
    ids_digest: str            # ids_digest of those rows' item ids
    nlist: int
    nprobe: int
    file_sha256: str = ""
    library: str = LIBRARY
    format: int = FORMAT

    def matches(self, rec: Any, ids: np.ndarray) -> bool:
        """Whether this index still describes the first rows of `rec` (a FeatureSetRecord) whose ids are `ids`."""
        return (self.format == FORMAT and self.library == LIBRARY and self.feature_set_id == rec.id
                and self.model_id == rec.model_id and self.weights_sha == rec.weights_sha and self.dim == rec.size
                and 0 < self.count <= len(ids) and self.ids_digest == ids_digest(ids[:self.count]))


def _matches(index: VectorIndex, rec: Any, ids: np.ndarray) -> bool:
    """IndexMeta.matches, remembered per ids file (the store names it by its content), so that repeated searches
    of one set do not hash its ids again (8 MB at 1,000,000 rows)."""
    key = (rec.id, rec.weights_sha, rec.ids_sha, len(ids))
    if key in index.verified:
        return True
    ok = index.meta.matches(rec, ids)
    if ok and rec.ids_sha:
        index.verified.add(key)
    return ok


class VectorIndex:
    """A faiss IVF-Flat index over unit-length rows (inner product = cosine similarity)."""

    def __init__(self, index: Any, meta: IndexMeta):
        self.index = index
        self.meta = meta
        self.verified: set[tuple] = set()     # feature set states (_matches) this index was found to describe

    @property
    def count(self) -> int:
        return self.meta.count

    @classmethod
    def build(cls, vectors: Any, *, nlist: int | None = None, seed: int = 0, meta: dict | None = None) -> VectorIndex:
        """Index the rows of `vectors` ([n, d], memory-mapped or not; normalised here a chunk at a time):
        nlist = 4 sqrt(n) lists, trained on a seeded sample of TRAIN_SAMPLE rows."""
        import faiss
        n, dim = int(vectors.shape[0]), int(vectors.shape[1])
        if n < 1:
            raise ValueError("no vectors to index")
        nlist = int(nlist or max(1, min(n // 39, round(4 * n ** 0.5))))
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, min(n, max(TRAIN_SAMPLE, 39 * nlist)), replace=False))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(_unit(np.asarray(vectors[sample], dtype=np.float32)))
        for s in range(0, n, 65536):
            index.add(_unit(np.asarray(vectors[s:s + 65536], dtype=np.float32)))
        nprobe = min(nlist, max(NPROBE_MIN, round(nlist * NPROBE_SHARE)))
        index.nprobe = nprobe
        info = dict(meta or {})
        info.update(dim=dim, count=n, nlist=nlist, nprobe=nprobe)
        info.setdefault("feature_set_id", "")
        info.setdefault("model_id", "")
        info.setdefault("weights_sha", "")
        info.setdefault("ids_digest", "")
        return cls(index, IndexMeta(**info))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows [nq, k] int64, cosine distances [nq, k] float32) of unit-length `queries`, nearest first; fewer
        than k found: -1 / inf."""
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.meta.dim)
        self.index.nprobe = self.meta.nprobe
        sim, rows = self.index.search(q, int(k))
        found = rows >= 0
        dist = np.where(found, np.clip(1.0 - sim, 0.0, 2.0), np.inf).astype(np.float32)
        return rows.astype(np.int64), dist

    def to_bytes(self) -> bytes:
        import faiss
        return faiss.serialize_index(self.index).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, meta: IndexMeta) -> VectorIndex:
        import faiss
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        if index.d != meta.dim or index.ntotal != meta.count:
            raise ValueError(f"the index holds {index.ntotal} x {index.d}, its sidecar says {meta.count} x {meta.dim}")
        return cls(index, meta)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(np.float32)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12)[:, None])


# -- files ------------------------------------------------------------------------------------------
def index_paths(store_root: Path | str, feature_set_id: str) -> tuple[Path, Path]:
    """(index file, JSON sidecar) of a feature set, inside `<store>/indexes`; ValueError for an id that is not a
    plain name or a path that would lead out of that folder (a link)."""
    if not isinstance(feature_set_id, str) or not _ID.fullmatch(feature_set_id):
        raise ValueError(f"{feature_set_id!r} is not a feature set id")
    folder = Path(store_root) / INDEX_DIR
    index, meta = folder / f"{feature_set_id}.faiss", folder / f"{feature_set_id}.json"
    root = folder.resolve()
    for p in (index, meta):
        if p.resolve().parent != root:
            raise ValueError(f"the index path {p} leads out of {folder}")
    return index, meta


def save(store: Any, index: VectorIndex) -> Path:
    """Write the index and its sidecar into the store (each atomically: the index first, so a sidecar never names
    an index file that is not there yet). Returns the index file."""
    path, meta_path = index_paths(store.root, index.meta.feature_set_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = index.to_bytes()
    index.meta.file_sha256 = hashlib.sha256(data).hexdigest()
    with store.writing():        # gc leaves store/tmp alone while a writer holds this
        _write_atomic(store, path, data)
        _write_atomic(store, meta_path, json.dumps(asdict(index.meta), indent=1).encode())
    with _lock:
        _cache[str(path)] = (_stamp(meta_path), index)
        _trim_cache()
    return path


def load(store: Any, feature_set_id: str) -> VectorIndex | None:
    """The feature set's index as saved, None when there is none or it is damaged (truncated, changed, unreadable:
    logged, never raised; the caller rebuilds it)."""
    try:
        path, meta_path = index_paths(store.root, feature_set_id)
    except ValueError as e:
        log.warning("no index for feature set %r: %s", feature_set_id, e)
        return None
    if not meta_path.is_file() or not path.is_file():
        return None
    stamp = _stamp(meta_path)
    with _lock:
        hit = _cache.get(str(path))
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        meta = IndexMeta(**json.loads(meta_path.read_text(encoding="utf-8")))
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.file_sha256:
            raise ValueError("its file is not the one its sidecar names (truncated or changed)")
        index = VectorIndex.from_bytes(data, meta)
    except (OSError, ValueError, TypeError, RuntimeError) as e:   # faiss raises RuntimeError on a bad file
        log.warning("the vector index of feature set %s is unusable and will be rebuilt: %s", feature_set_id, e)
        return None
    with _lock:
        _cache[str(path)] = (stamp, index)
        _trim_cache()
    return index


def drop(store: Any, feature_set_id: str) -> bool:
    """Delete the feature set's index files (True when there were any)."""
    try:
        paths = index_paths(store.root, feature_set_id)
    except ValueError:
        return False
    gone = False
    for p in paths:
        with _lock:
            _cache.pop(str(p), None)
        try:
            p.unlink()
            gone = True
        except FileNotFoundError:
            pass
    return gone


def _write_atomic(store: Any, path: Path, data: bytes) -> None:
    tmp_dir = Path(store.root) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def _trim_cache() -> None:
    while len(_cache) > _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))


# -- a feature set's index ----------------------------------------------------------------------------
def for_feature_set(catalog: Any, rec: Any, ids: np.ndarray, values: Any, *,
                    build: bool = True) -> VectorIndex | None:
    """The index of feature set `rec` (ids / values: its rows as read), loaded when the saved one still describes
    its first rows, else built (when `build` and faiss is installed) and saved; None when none is to be had. An
    index is rebuilt once the rows appended since it was built reach STALE_TAIL of those it holds. Building one
    also deletes the indexes of feature sets that are gone (dropped when their model was trained again)."""
    if not available():
        return None
    store = catalog.store
    index = load(store, rec.id)
    if index is not None and not _matches(index, rec, ids):
        log.info("the vector index of feature set %r no longer matches its vectors (%d rows indexed, %d now): "
                 "rebuilding it", rec.name, index.count, len(ids))
        index = None
    if index is not None and len(ids) - index.count <= STALE_TAIL * index.count:
        return index
    if not build or len(ids) == 0:
        return index
    log.info("building the vector index of feature set %r (%d vectors of %d)", rec.name, len(ids), rec.size)
    index = VectorIndex.build(values, meta={"feature_set_id": rec.id, "model_id": rec.model_id,
                                            "weights_sha": rec.weights_sha, "ids_digest": ids_digest(ids)})
    try:
        save(store, index)
        sweep(catalog)
    except (OSError, ValueError) as e:   # read-only catalog, full disk, a link in its place: this process only
        log.warning("the vector index of feature set %r is not saved: %s", rec.name, e)
    return index


def sweep(catalog: Any) -> list[str]:
    """Delete the index files of feature sets the catalog no longer holds; the ids swept."""
    from desktop_app.catalog.feature_sets import queries
    folder = Path(catalog.store.root) / INDEX_DIR
    if not folder.is_dir():
        return []
    known = {r.id for r in queries(catalog).find()}
    gone = sorted({p.stem for p in folder.iterdir() if p.suffix in (".faiss", ".json")} - known)
    for fid in gone:
        drop(catalog.store, fid)
    return gone
