"""Nearest neighbours of one query in a feature set by cosine distance: exact, or through its approximate index.

Exact search is evaluation.similarity.knn (the one exact cosine k-NN: it reads a possibly memory-mapped matrix a
block at a time, so a search never copies the whole set). "approx" asks the set's faiss index (ml.ann_index) and
searches the rows appended since it was built exactly, merging both; "auto" takes the index from
ann_index.MIN_VECTORS rows on (where it is measured faster) and exact search below. Without faiss installed every
search is exact (said once in the log). Vectors are compared L2-normalised: distance = 1 - cosine similarity, in
[0, 2] (0: same direction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.evaluation.similarity import knn

from . import ann_index

if TYPE_CHECKING:
    from desktop_app.catalog.feature_sets import FeatureSetRecord
    from desktop_app.catalog.records import ItemRecord

METHODS = ("auto", "exact", "approx")


def normalized(vectors: Any) -> np.ndarray:
    """Rows scaled to unit length (float32); a zero row stays zero."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValidationError(f"search method {method!r}: one of {', '.join(METHODS)}")
    return method


def uses_index(method: str, count: int) -> bool:
    """Whether a search of `count` rows by `method` goes through the approximate index (when one can be had)."""
    return check_method(method) == "approx" or (method == "auto" and count >= ann_index.MIN_VECTORS)


def nearest(vectors: Any, query: Any, k: int, *, method: str = "exact",
            index: ann_index.VectorIndex | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(row indexes, cosine distances) of the `k` rows nearest `query`, nearest first (ties by row).

    `index`: an approximate index over the first `index.count` rows of `vectors`, used when `method` says so
    ("approx"; "auto" from ann_index.MIN_VECTORS rows); the rows after them are searched exactly and merged in.
    Without an index the search is exact whatever the method."""
    check_method(method)
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
    k = min(int(k), n)
    if index is None or not uses_index(method, n) or index.count > n or index.meta.dim != dim:
        idx, dist = knn(q[None], vectors, k)
        return idx[0], dist[0]
    qn = normalized(q)[None]
    idx, dist = index.search(qn, k)
    idx, dist = idx[0], dist[0]
    if index.count < n:                          # rows appended since the index was built: exact, merged in
        t_idx, t_dist = knn(qn, vectors[index.count:], min(k, n - index.count), normalized=False)
        idx = np.concatenate([idx, t_idx[0] + index.count])
        dist = np.concatenate([dist, t_dist[0]])
    keep = idx >= 0
    idx, dist = idx[keep], dist[keep]
    order = np.lexsort((idx, dist))[:k]
    return idx[order].astype(np.int64), dist[order].astype(np.float32)


def search_feature_set(catalog: Any, rec: FeatureSetRecord, query: Any, k: int = 10, *,
                       method: str = "auto") -> list[tuple[ItemRecord, float]]:
    """The `k` items nearest `query` (an item id whose vector the set holds, or a vector of the set's size),
    nearest first, with their cosine distances (0: the same direction; the item itself comes first). Items
    deleted since they were embedded are left out. `method`: "auto" (the set's approximate index from
    ann_index.MIN_VECTORS vectors on, built and saved beside the vectors at the first search that wants it),
    "exact" or "approx"."""
    from desktop_app.catalog.feature_sets import queries

    check_method(method)
    fs = queries(catalog)
    ids, values = fs.read(rec)
    if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
        at = np.flatnonzero(ids == int(query))
        if not len(at):
            raise NotFoundError(f"item {int(query)} has no vector in feature set {rec.name!r}: embed it first "
                                f"(model.embed(item_ids=[{int(query)}]))")
        vector = np.asarray(values[at[0]])
    else:
        vector = query
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValidationError(f"k must be a whole number of at least 1, got {k!r}")
    index = ann_index.for_feature_set(catalog, rec, ids, values) if uses_index(method, len(ids)) else None
    extra = 8
    while True:
        want = min(int(k) + extra, len(ids))
        idx, dist = nearest(values, vector, want, method=method, index=index)
        found = fs.existing_items(ids[idx].tolist())
        out = [(found[int(ids[i])], float(d)) for i, d in zip(idx, dist) if int(ids[i]) in found]
        if len(out) >= k or want >= len(ids) or len(idx) < want:   # the index found fewer than asked: all it has
            return out[:k]
        extra *= 4
