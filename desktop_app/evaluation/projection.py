"""2-D projections of a feature set's vectors for the embedding map (PCA in numpy; UMAP when umap-learn is
installed), cached per feature set version, and the map's geometry: the points inside a lasso, the point nearest
the pointer.

PCA is randomized (Halko, Martinsson & Tropp 2011: a range finder with power iterations) over the centred
vectors, read in blocks: the (possibly memory-mapped) matrix is never copied or centred in memory, so 100,000 x
2048 float32 vectors (800 MB) cost a dozen passes of a thin matrix product. Small sets get the exact SVD. Each
component's sign is fixed (its largest coordinate positive), so a projection is the same from run to run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable

import numpy as np

from desktop_app.errors import ValidationError

METHODS = ("pca", "umap")
METHOD_TITLES = {"pca": "PCA", "umap": "UMAP"}
UMAP_HINT = "UMAP needs umap-learn: pip install 'model-desk[umap]' (from a checkout: pip install -e '.[umap]')"
ROWS = 8192             # rows of the (possibly memory-mapped) matrix read at a time (2048-d: 64 MB a block)
EXACT_BELOW = 4096      # at most this many rows: the exact SVD of the centred matrix
EXACT_DIMS = 256        # at most this many columns: the exact covariance, built a block of rows at a time
UMAP_INPUT_DIMS = 50    # UMAP runs on the vectors' first 50 principal components (the usual first step)


def umap_available() -> bool:
    """True when umap-learn can be imported (the optional extra `[umap]`)."""
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


class UnitRows:
    """A [n, d] matrix (possibly memory-mapped) taken with each row scaled to unit length, without copying it: the
    map projects what cosine distance compares (ml.vector_search), not the vectors' lengths, whose long tail would
    otherwise stretch a PCA map along a few outliers. PCA applies the scales after each block's matrix product (a
    vector's worth of work, not a pass over the block); slicing gives the scaled rows."""

    def __init__(self, vectors: Any):
        self.vectors = vectors
        self.shape = tuple(vectors.shape) if hasattr(vectors, "shape") else tuple(np.shape(vectors))
        self.ndim = len(self.shape)
        self._scale: np.ndarray | None = None

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def scale(self) -> np.ndarray:
        """1 / each row's length (0 for a zero row), float32 [n]: one pass, the first time."""
        if self._scale is None:
            out = np.zeros(len(self), np.float32)
            for k in _blocks(len(self)):
                block = np.asarray(self.vectors[k:k + ROWS], np.float32)
                norms = np.sqrt(np.einsum("ij,ij->i", block, block))
                out[k:k + ROWS] = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
            self._scale = out
        return self._scale

    def __getitem__(self, rows: slice) -> np.ndarray:
        return np.asarray(self.vectors[rows], np.float32) * self.scale[rows][:, None]


def _blocks(n: int) -> range:
    return range(0, n, ROWS)


def _raw(x: Any) -> tuple[Any, np.ndarray | None]:
    """(the stored matrix, its row scales or None)."""
    return (x.vectors, x.scale) if isinstance(x, UnitRows) else (x, None)


def _mean(x: Any) -> np.ndarray:
    raw, scale = _raw(x)
    total = np.zeros(x.shape[1], np.float64)
    for k in _blocks(len(x)):
        block = np.asarray(raw[k:k + ROWS], np.float32)
        total += block.sum(axis=0, dtype=np.float64) if scale is None else scale[k:k + ROWS] @ block
    return (total / max(len(x), 1)).astype(np.float32)


def _times(x: Any, mu: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(x - mu) @ m, a block of rows at a time."""
    raw, scale = _raw(x)
    out = np.empty((len(x), m.shape[1]), np.float32)
    shift = mu @ m
    for k in _blocks(len(x)):
        part = np.asarray(raw[k:k + ROWS], np.float32) @ m
        out[k:k + ROWS] = (part if scale is None else part * scale[k:k + ROWS, None]) - shift
    return out


def _t_times(x: Any, mu: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(x - mu).T @ q, a block of rows at a time."""
    raw, scale = _raw(x)
    out = np.zeros((x.shape[1], q.shape[1]), np.float64)
    for k in _blocks(len(x)):
        qk = q[k:k + ROWS] if scale is None else q[k:k + ROWS] * scale[k:k + ROWS, None]
        out += np.asarray(raw[k:k + ROWS], np.float32).T @ qk
    out -= np.outer(mu, q.sum(axis=0))
    return out.astype(np.float32)


def _flip(scores: np.ndarray) -> np.ndarray:
    """Each column's sign chosen so that its largest-magnitude entry is positive (a stable orientation)."""
    if scores.size == 0:
        return scores
    rows = np.argmax(np.abs(scores), axis=0)
    signs = np.sign(scores[rows, np.arange(scores.shape[1])])
    return scores * np.where(signs == 0, 1, signs)


def pca(vectors: Any, components: int = 2, *, power_iterations: int = 4, oversample: int = 10,
        seed: int = 0) -> np.ndarray:
    """[n, components] float32: the vectors' coordinates on their first principal components (the centred
    vectors' U * S), signs fixed. Exact for few rows or few columns, randomized otherwise."""
    n = len(vectors)
    shape = vectors.shape if hasattr(vectors, "shape") else np.shape(vectors)
    d = shape[1] if len(shape) == 2 else 0
    out = np.zeros((n, components), np.float32)
    k = min(components, n, d)
    if k == 0:
        return out
    mu = _mean(vectors)
    if n <= EXACT_BELOW:          # small: the exact SVD of the centred matrix
        u, s, _ = np.linalg.svd(np.asarray(vectors[0:n], np.float64) - mu, full_matrices=False)
        out[:, :k] = _flip(u[:, :k] * s[:k])
        return out
    if d <= EXACT_DIMS:           # few columns: the d x d covariance (in blocks), its eigenvectors, one projection
        cov = np.zeros((d, d), np.float64)
        for b in _blocks(n):
            block = np.asarray(vectors[b:b + ROWS], np.float64) - mu
            cov += block.T @ block
        _, v = np.linalg.eigh(cov)
        out[:, :k] = _flip(_times(vectors, mu, v[:, ::-1][:, :k].astype(np.float32)))
        return out
    rng = np.random.default_rng(seed)
    width = min(k + oversample, d)
    y = _times(vectors, mu, rng.standard_normal((d, width)).astype(np.float32))
    for _ in range(power_iterations):   # (X X^T)^q sharpens the spectrum; QR in between keeps it well scaled
        q, _ = np.linalg.qr(y)
        z, _ = np.linalg.qr(_t_times(vectors, mu, q))
        y = _times(vectors, mu, z)
    q, _ = np.linalg.qr(y)
    b = _t_times(vectors, mu, q).T                      # [width, d] = Q^T (X - mu)
    u, s, _ = np.linalg.svd(b.astype(np.float64), full_matrices=False)
    out[:, :k] = _flip((q.astype(np.float64) @ u[:, :k]) * s[:k])
    return out


def umap(vectors: Any, *, seed: int = 0, **options: Any) -> np.ndarray:
    """[n, 2] float32 by UMAP (cosine metric) over the vectors' first UMAP_INPUT_DIMS principal components;
    ValidationError naming the extra when umap-learn is not installed."""
    try:
        import umap as umap_learn
    except ImportError:
        raise ValidationError(UMAP_HINT) from None
    n = len(vectors)
    if n < 4:
        return pca(vectors, 2)
    d = vectors.shape[1]
    reduced = pca(vectors, UMAP_INPUT_DIMS) if d > UMAP_INPUT_DIMS else np.asarray(vectors[0:n], np.float32)
    # n_jobs 1: a seed makes UMAP run on one thread anyway (it warns otherwise); the same map every time
    params = {"n_components": 2, "metric": "cosine", "random_state": seed, "n_neighbors": min(15, n - 1),
              "n_jobs": 1}
    params.update(options)
    return np.asarray(umap_learn.UMAP(**params).fit_transform(reduced), np.float32)


def project(vectors: Any, method: str = "pca", *, seed: int = 0, unit: bool = False) -> np.ndarray:
    """[n, 2] float32 positions of the vectors by `method` ("pca" or "umap"); `unit`: of the vectors scaled to unit
    length (UnitRows)."""
    if unit:
        vectors = UnitRows(vectors)
    if method == "pca":
        return pca(vectors, 2, seed=seed)
    if method == "umap":
        return umap(vectors, seed=seed)
    raise ValidationError(f"projection {method!r}: one of {', '.join(METHODS)}")


@dataclass(frozen=True)
class Projection:
    """A feature set's vectors projected: `ids` (item ids, int64 [n]) and `xy` (float32 [n, 2]), row for row."""
    ids: np.ndarray
    xy: np.ndarray
    method: str


class ProjectionCache:
    """Projections in memory, keyed by (feature set id, version, method): a set whose vectors changed (new items
    embedded, weights changed) has a new version and is projected again; the least recently used go first.
    Thread-safe: projections are made on worker threads."""

    def __init__(self, capacity: int = 4):
        self.capacity = capacity
        self._items: OrderedDict[Hashable, Projection] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Projection | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Projection) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable[[], Projection]) -> Projection:
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found

    def __len__(self) -> int:
        return len(self._items)


# -- the map's geometry -------------------------------------------------------------------------
def points_in_polygon(xy: np.ndarray, polygon: Any) -> np.ndarray:
    """Boolean mask [n]: the points of `xy` [n, 2] inside `polygon` ([m, 2] vertices, closed implicitly), by the
    even-odd rule (a crossing count per edge, vectorized over the points; only points within the polygon's
    bounding box are tested)."""
    pts = np.asarray(xy, np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    inside = np.zeros(len(pts), bool)
    if len(poly) < 3 or len(pts) == 0:
        return inside
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    cand = np.flatnonzero((pts[:, 0] >= lo[0]) & (pts[:, 0] <= hi[0]) & (pts[:, 1] >= lo[1]) & (pts[:, 1] <= hi[1]))
    if cand.size == 0:
        return inside
    x, y = pts[cand, 0], pts[cand, 1]
    hit = np.zeros(cand.size, bool)
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    for ax, ay, bx, by in zip(x1, y1, x2, y2):
        if ay == by:
            continue            # a horizontal edge crosses no horizontal ray
        crosses = (ay > y) != (by > y)
        at = ax + (y - ay) * (bx - ax) / (by - ay)
        hit ^= crosses & (x < at)
    inside[cand] = hit
    return inside


def nearest_point(xy: np.ndarray, x: float, y: float, *, scale: tuple[float, float] = (1.0, 1.0),
                  radius: float = np.inf) -> int:
    """The row of `xy` nearest (x, y), distances measured after multiplying by `scale` (data units to pixels, so
    "near" means near on screen); -1 when none is within `radius` (in scaled units) or there are no points."""
    pts = np.asarray(xy)
    if len(pts) == 0:
        return -1
    dx = (pts[:, 0] - x) * scale[0]
    dy = (pts[:, 1] - y) * scale[1]
    d2 = dx * dx + dy * dy
    k = int(np.argmin(d2))
    return k if d2[k] <= radius * radius else -1
