"""Nearest neighbours of one query in a feature set by cosine distance (exact, streamed over the vectors).

The (possibly memory-mapped) vectors are read a block at a time: a matrix product per block, then argpartition,
so a search never copies the whole set (evaluation.similarity.knn answers many queries at once, in memory).
`nearest` takes a `method` so that an approximate index can sit beside the exact search later; only "exact"
exists now. Vectors are compared L2-normalised: distance = 1 - cosine similarity, in [0, 2] (0: same direction).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from desktop_app.errors import ValidationError

METHODS = ("exact",)
ROWS = 65536   # rows of the (possibly memory-mapped) matrix read at a time


def normalized(vectors: Any) -> np.ndarray:
    """Rows scaled to unit length (float32); a zero row stays zero."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def cosine_distances(vectors: Any, query: Any) -> np.ndarray:
    """1 - cos(row, query) for every row of `vectors` ([n, d], read in blocks: it may be memory-mapped)."""
    q = normalized(np.asarray(query, dtype=np.float32).reshape(-1))
    n = len(vectors)
    out = np.empty(n, np.float32)
    for k in range(0, n, ROWS):
        block = np.asarray(vectors[k:k + ROWS], dtype=np.float32)
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        out[k:k + ROWS] = 1.0 - (block @ q) / np.where(norms > 0, norms, 1.0)
    return out


def nearest(vectors: Any, query: Any, k: int, *, method: str = "exact") -> tuple[np.ndarray, np.ndarray]:
    """(row indexes, cosine distances) of the `k` rows nearest `query`, nearest first (ties by row)."""
    if method not in METHODS:
        raise ValidationError(f"search method {method!r}: one of {', '.join(METHODS)}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValidationError(f"k must be a whole number of at least 1, got {k!r}")
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    dim = vectors.shape[1]
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    if q.shape[0] != dim:
        raise ValidationError(f"the query vector has {q.shape[0]} numbers; this feature set's vectors have {dim}")
    if not np.isfinite(q).all():
        raise ValidationError("the query vector must be finite numbers")
    dist = cosine_distances(vectors, q)
    k = min(int(k), n)
    top = np.argpartition(dist, k - 1)[:k] if k < n else np.arange(n)
    order = np.lexsort((top, dist[top]))
    idx = top[order]
    return idx.astype(np.int64), dist[idx]
