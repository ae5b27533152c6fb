"""Similarity over embeddings: exact k-NN in memory-bounded blocks, near-duplicate groups, leakage, k-center."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from desktop_app.errors import ValidationError

# Cosine distance (1 - cos) at or under which two items count as near-duplicates. Measured on the generated set of
# tests/evaluation/test_near_duplicates.py (400 images, copies cropped to 85-93 %, flipped, colour-jittered by 25-30 %,
# JPEG-recompressed at quality 20-50): 95 % of the copies lie within 0.041 of their original, the closest two distinct
# images 0.072 apart. It agrees with SemDeDup (Abbas et al. 2023), which calls embeddings of web images duplicates
# from a cosine distance of 0.0005-0.1 depending on how much it wants to drop. A set whose copies are edited more
# wants a larger threshold: `near_duplicate_pairs` at 0.5 shows the distances.
DEFAULT_DUPLICATE_THRESHOLD = 0.05
# Bytes one block of similarities may take (queries x base rows x 4): 100,000 x 100,000 stays at this.
DEFAULT_BLOCK_BYTES = 64 << 20


def as_matrix(vectors, name: str = "vectors") -> np.ndarray:
    """`vectors` as a C-contiguous float32 [n, d] matrix, refused when it is not 2-D or holds NaN / inf."""
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if x.ndim != 2:
        raise ValidationError(f"{name} must be a [n, d] matrix, got shape {x.shape}")
    if x.size and not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x).all(1))[0])
        raise ValidationError(f"{name} row {bad} holds NaN or inf")
    return x


def l2_normalize(vectors, eps: float = 1e-12) -> np.ndarray:
    """Each row scaled to unit length (a float32 copy); an all-zero row stays zero (distance 1 to everything)."""
    x = as_matrix(vectors)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(np.float32)
    return x / np.maximum(norms, eps)[:, None]


def _rows_per_block(n_base: int, block_bytes: int) -> int:
    return max(1, int(block_bytes // (4 * max(1, n_base))))


def knn(queries, base=None, k: int = 10, *, normalized: bool = False,
        block_bytes: int = DEFAULT_BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by cosine distance: (indices [nq, k] int64 into `base`, distances [nq, k] float32),
    nearest first, ties by index. `base=None`: the queries against themselves, each row's own index left out.

    The one exact cosine k-NN of the product (ml.vector_search.nearest asks it for one query). `base` is read a
    chunk of rows at a time and never copied whole, so it may be a memory-mapped file larger than memory; each
    chunk's similarities, at most `block_bytes` (queries x chunk x 4; its temporaries take a few times that), are
    merged into a running top-k, so memory stays bounded however many vectors there are; the time is that of the
    full product (n_queries x n_base x d). `normalized=True` skips the L2 normalisation of rows already unit
    length. Fewer than k candidates: the rest are -1 / inf."""
    q = as_matrix(queries, "queries") if normalized else l2_normalize(queries)
    self_join = base is None
    if self_join:
        b, unit = q, True
    else:
        b = base if isinstance(base, np.ndarray) else np.asarray(base, dtype=np.float32)
        if b.ndim != 2:
            raise ValidationError(f"base must be a [n, d] matrix, got shape {b.shape}")
        unit = normalized
    if q.shape[1] != b.shape[1]:
        raise ValidationError(f"queries have {q.shape[1]} dimensions, the base {b.shape[1]}")
    k = int(k)
    if k < 1:
        raise ValidationError(f"k must be at least 1, got {k}")
    nq, nb = q.shape[0], b.shape[0]
    out_i = np.full((nq, k), -1, np.int64)
    out_d = np.full((nq, k), np.inf, np.float32)
    if nq == 0 or nb == 0:
        return out_i, out_d
    # A chunk of the base of at most 65,536 rows; as many query rows as the budget then allows.
    chunk = min(nb, 65536, max(k, int(block_bytes // (4 * 256))))
    rows = max(1, min(nq, int(block_bytes // (4 * chunk))))
    for qs in range(0, nq, rows):
        qb = q[qs:qs + rows]
        best_s = np.full((qb.shape[0], k), -np.inf, np.float32)
        best_i = np.full((qb.shape[0], k), -1, np.int64)
        for bs in range(0, nb, chunk):
            rows_b, inv_norms = _chunk(b, bs, chunk, unit)
            s = qb @ rows_b.T
            if inv_norms is not None:           # scaling the product, not the rows: no copy of the chunk
                s *= inv_norms
            if self_join:                       # never a row's own match
                r = np.arange(qb.shape[0])
                own = qs + r - bs
                ok = (own >= 0) & (own < s.shape[1])
                s[r[ok], own[ok]] = -np.inf
            idx = np.broadcast_to(np.arange(bs, bs + s.shape[1], dtype=np.int64), s.shape)
            if s.shape[1] > k:
                part = np.argpartition(-s, k - 1, axis=1)[:, :k]
                s, idx = np.take_along_axis(s, part, 1), np.take_along_axis(idx, part, 1)
            cs, ci = np.concatenate([best_s, s], 1), np.concatenate([best_i, idx], 1)
            # most similar first, ties by the lower index (lexsort: last key is the primary one)
            order = np.lexsort((np.where(ci < 0, np.iinfo(np.int64).max, ci), -cs), axis=1)[:, :k]
            best_s, best_i = np.take_along_axis(cs, order, 1), np.take_along_axis(ci, order, 1)
        found = np.isfinite(best_s)
        out_i[qs:qs + rows] = np.where(found, best_i, -1)
        out_d[qs:qs + rows] = np.where(found, np.clip(1.0 - best_s, 0.0, 2.0), np.inf)
    return out_i, out_d


def _chunk(base: np.ndarray, start: int, rows: int, unit: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows start.. of the base as float32 and 1 / their lengths (None when `unit` says they are unit length; a
    zero row stays zero); NaN / inf refused by row (seen in the lengths, so the rows are read once more only for
    unit ones)."""
    x = np.asarray(base[start:start + rows], dtype=np.float32)
    if unit:
        if not np.isfinite(x).all():
            _refuse(start, np.isfinite(x).all(1))
        return x, None
    sq = np.einsum("ij,ij->i", x, x)            # float32: a float64 einsum is ~30x slower (no SIMD path)
    if not np.isfinite(sq).all():
        finite = np.isfinite(x).all(1)
        if not finite.all():
            _refuse(start, finite)
        sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)    # huge values overflowed float32
    return x, (1.0 / np.maximum(np.sqrt(sq), 1e-12)).astype(np.float32)


def _refuse(start: int, finite_rows: np.ndarray) -> None:
    bad = start + int(np.flatnonzero(~finite_rows)[0])
    raise ValidationError(f"base row {bad} holds NaN or inf")


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, a: int) -> int:
        p = self.parent
        root = a
        while p[root] != root:
            root = p[root]
        while p[a] != root:                     # path compression
            p[a], a = root, p[a]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_duplicate_pairs(vectors, threshold: float = DEFAULT_DUPLICATE_THRESHOLD, *, normalized: bool = False,
                         block_bytes: int = DEFAULT_BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of rows (i < j) at cosine distance <= `threshold`: (i, j, distance) arrays ordered by i then j.

    Computed a block of rows at a time against the rows after them (the upper triangle only)."""
    x = as_matrix(vectors) if normalized else l2_normalize(vectors)
    if not 0.0 <= float(threshold) <= 2.0:
        raise ValidationError(f"threshold is a cosine distance in [0, 2], got {threshold}")
    n = x.shape[0]
    rows = _rows_per_block(n, block_bytes)
    min_sim = np.float32(1.0 - float(threshold))
    ii, jj, dd = [], [], []
    for s in range(0, n, rows):
        e = min(n, s + rows)
        sim = x[s:e] @ x[s:].T                  # columns: rows s.. n-1
        sim[np.tril_indices(e - s, 0, sim.shape[1])] = -np.inf  # j <= i
        r, c = np.nonzero(sim >= min_sim)
        ii.append(r + s)
        jj.append(c + s)
        dd.append(np.clip(1.0 - sim[r, c], 0.0, 2.0))
    if not ii:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return (np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64),
            np.concatenate(dd).astype(np.float32))


@dataclass
class DuplicateGroup:
    """Items joined by near-duplicate pairs (single linkage: a chain a~b~c is one group even when a and c are
    further apart than the threshold). `max_distance`: the largest pair distance that joined it."""
    items: list[int]
    max_distance: float
    pairs: list[tuple[int, int, float]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"items": self.items, "max_distance": self.max_distance,
                "pairs": [[a, b, d] for a, b, d in self.pairs]}


def near_duplicate_groups(vectors, item_ids: Sequence[int] | None = None,
                          threshold: float = DEFAULT_DUPLICATE_THRESHOLD, *, normalized: bool = False,
                          block_bytes: int = DEFAULT_BLOCK_BYTES) -> list[DuplicateGroup]:
    """Groups of two or more near-duplicates (pairs under `threshold` joined by union-find), largest first, each
    listing its item ids (ascending) and the pairs that joined it. `item_ids`: one id per row (default: the row)."""
    x = as_matrix(vectors)
    ids = _ids(item_ids, x.shape[0])
    i, j, d = near_duplicate_pairs(x, threshold, normalized=normalized, block_bytes=block_bytes)
    uf = _UnionFind(x.shape[0])
    for a, b in zip(i.tolist(), j.tolist()):
        uf.union(a, b)
    members: dict[int, list[int]] = {}
    for a in sorted(set(i.tolist()) | set(j.tolist())):
        members.setdefault(uf.find(a), []).append(a)
    pairs: dict[int, list[tuple[int, int, float]]] = {}
    for a, b, dist in zip(i.tolist(), j.tolist(), d.tolist()):
        pairs.setdefault(uf.find(a), []).append((int(ids[a]), int(ids[b]), float(dist)))
    groups = [DuplicateGroup(sorted(int(ids[m]) for m in rows), max(p[2] for p in pairs[root]), pairs[root])
              for root, rows in members.items()]
    groups.sort(key=lambda g: (-len(g.items), g.items[0]))
    return groups


@dataclass
class Leak:
    """A held-out item (test / validation) with a near-duplicate in train: the item, its nearest train twin."""
    item: int
    subset: str
    twin: int
    distance: float

    def to_json(self) -> dict:
        return {"item": self.item, "subset": self.subset, "twin": self.twin, "distance": self.distance}


def leakage(vectors, item_ids: Sequence[int], subsets: Sequence[str | None],
            threshold: float = DEFAULT_DUPLICATE_THRESHOLD, *, train: str = "train",
            held_out: Sequence[str] = ("validation", "test"), normalized: bool = False,
            block_bytes: int = DEFAULT_BLOCK_BYTES) -> list[Leak]:
    """Items of the `held_out` subsets whose nearest `train` item is within `threshold`, closest first (ties by
    item id): what a score on those subsets partly measures memorisation with."""
    x = as_matrix(vectors)
    ids = _ids(item_ids, x.shape[0])
    subs = list(subsets)
    if len(subs) != x.shape[0]:
        raise ValidationError(f"{len(subs)} subsets for {x.shape[0]} vectors")
    tr = np.array([s == train for s in subs])
    ho = np.array([s in held_out for s in subs])
    if not tr.any() or not ho.any():
        return []
    nn, dist = knn(x[ho], x[tr], k=1, normalized=normalized, block_bytes=block_bytes)
    train_ids, held_rows = ids[tr], np.flatnonzero(ho)
    out = [Leak(int(ids[r]), str(subs[r]), int(train_ids[t]), float(dd))
           for r, t, dd in zip(held_rows.tolist(), nn[:, 0].tolist(), dist[:, 0].tolist()) if dd <= threshold]
    out.sort(key=lambda leak: (leak.distance, leak.item))
    return out


def k_center(vectors, k: int, *, covered=None, candidates: Sequence[int] | None = None, first: int | None = None,
             normalized: bool = False, block_bytes: int = DEFAULT_BLOCK_BYTES) -> list[int]:
    """Greedy k-center (farthest-first traversal) by cosine distance: `k` row indices, in the order picked, each the
    candidate farthest from everything picked so far and from `covered` (vectors already labelled, [m, d]).

    `candidates`: the rows it may pick (default all). `first`: the row to start from when nothing is covered
    (default: the candidate farthest from the candidates' mean direction, so the result is deterministic). The
    greedy choice covers within twice the optimal radius (Gonzalez 1985)."""
    x = as_matrix(vectors) if normalized else l2_normalize(vectors)
    pool = np.arange(x.shape[0]) if candidates is None else np.asarray(list(candidates), np.int64)
    k = min(int(k), pool.shape[0])
    if k <= 0:
        return []
    p = x[pool]
    if covered is not None and len(covered):
        _, d = knn(p, covered, k=1, normalized=normalized, block_bytes=block_bytes)
        mind = d[:, 0].astype(np.float64)
        picked: list[int] = []
    else:
        if first is None:
            mean = p.mean(0)
            norm = float(np.linalg.norm(mean))
            start = int(np.argmin(p @ (mean / norm))) if norm > 0 else 0
        else:
            where = np.flatnonzero(pool == int(first))
            if not where.size:
                raise ValidationError(f"first row {first} is not among the candidates")
            start = int(where[0])
        picked = [start]
        mind = np.clip(1.0 - (p @ p[start]).astype(np.float64), 0.0, 2.0)
        mind[start] = -1.0
    while len(picked) < k:
        nxt = int(np.argmax(mind))              # ties: the lowest row
        picked.append(nxt)
        np.minimum(mind, np.clip(1.0 - (p @ p[nxt]).astype(np.float64), 0.0, 2.0), out=mind)
        mind[picked] = -1.0
    return pool[picked].tolist()


def _ids(item_ids, n: int) -> np.ndarray:
    if item_ids is None:
        return np.arange(n, dtype=np.int64)
    ids = np.asarray(list(item_ids), dtype=np.int64)
    if ids.shape[0] != n:
        raise ValidationError(f"{ids.shape[0]} item ids for {n} vectors")
    return ids
