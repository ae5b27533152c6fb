"""Exact k-NN in blocks against brute force, L2 normalisation, and greedy k-center's coverage."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.errors import ValidationError
from desktop_app.evaluation.similarity import k_center, knn, l2_normalize


def brute(q: np.ndarray, b: np.ndarray, k: int, self_join: bool = False):
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    d = 1.0 - qn.astype(np.float64) @ bn.T.astype(np.float64)
    if self_join:
        np.fill_diagonal(d, np.inf)
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(d, idx, 1)


@pytest.mark.parametrize("block_bytes", [1 << 10, 1 << 14, 64 << 20])
def test_blockwise_knn_equals_brute_force(block_bytes):
    rng = np.random.default_rng(3)
    base = rng.normal(size=(1500, 24)).astype(np.float32)
    queries = rng.normal(size=(130, 24)).astype(np.float32)
    idx, dist = knn(queries, base, k=7, block_bytes=block_bytes)
    want_i, want_d = brute(queries, base, 7)
    assert idx.dtype == np.int64 and dist.dtype == np.float32 and idx.shape == (130, 7)
    assert np.array_equal(idx, want_i)
    np.testing.assert_allclose(dist, want_d, atol=1e-5)
    # the set against itself: a row is never its own neighbour
    idx, dist = knn(base, k=5, block_bytes=block_bytes)
    want_i, want_d = brute(base, base, 5, self_join=True)
    assert np.array_equal(idx, want_i)
    np.testing.assert_allclose(dist, want_d, atol=1e-5)


def test_knn_ties_go_to_the_lower_index_and_missing_neighbours_are_marked():
    base = np.array([[1, 0], [2, 0], [0, 1], [3, 0]], np.float32)     # rows 0, 1 and 3 point the same way
    idx, dist = knn(np.array([[1, 0]], np.float32), base, k=3, block_bytes=16)
    assert idx.tolist() == [[0, 1, 3]] and np.allclose(dist, 0)
    idx, dist = knn(base[:2], k=4)                                       # only one other row exists
    assert idx.tolist() == [[1, -1, -1, -1], [0, -1, -1, -1]]
    assert np.isinf(dist[:, 1:]).all()
    assert knn(np.zeros((0, 2)), base, k=2)[0].shape == (0, 2)
    with pytest.raises(ValidationError, match="dimensions"):
        knn(base, np.zeros((3, 5)), k=1)
    with pytest.raises(ValidationError, match="NaN"):
        knn(np.array([[np.nan, 1.0]]), base, k=1)


def test_l2_normalize_keeps_zero_rows():
    x = l2_normalize([[3, 4], [0, 0]])
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, [[0.6, 0.8], [0, 0]])


def _clusters(rng, n_clusters=6, per=(200, 40, 15, 120, 8, 60), d=16):
    centres = rng.normal(size=(n_clusters, d)) * 4
    x = np.concatenate([centres[c] + rng.normal(size=(per[c], d)) * 0.3 for c in range(n_clusters)])
    label = np.concatenate([np.full(per[c], c) for c in range(n_clusters)])
    return x.astype(np.float32), label


def test_k_center_covers_every_cluster_however_small():
    rng = np.random.default_rng(0)
    x, label = _clusters(rng)
    picked = k_center(x, 6)
    assert len(picked) == len(set(picked)) == 6
    assert sorted(label[picked].tolist()) == list(range(6))      # one per cluster, the 8-point one too
    # random picks of the same size usually miss the small clusters: the point of diversity
    assert len(set(label[rng.choice(len(x), 6, replace=False)].tolist())) < 6
    # deterministic, and its radius is within 2x of any other 6 centres' (here: the cluster centres' nearest)
    assert k_center(x, 6) == picked
    xn = l2_normalize(x)
    radius = (1 - xn @ xn[picked].T).min(1).max()
    assert radius < 0.2


def test_k_center_starts_from_what_is_covered_and_keeps_to_candidates():
    rng = np.random.default_rng(1)
    x, label = _clusters(rng)
    covered = x[label < 3]                          # clusters 0-2 already labelled
    picked = k_center(x, 3, covered=covered)
    assert sorted(label[picked].tolist()) == [3, 4, 5]
    cands = np.flatnonzero(label % 2 == 0).tolist()
    picked = k_center(x, 3, candidates=cands, first=cands[5])
    assert picked[0] == cands[5] and set(picked) <= set(cands)
    assert sorted(label[picked].tolist()) == [0, 2, 4]
    assert k_center(x, 0) == [] and len(k_center(x[:4], 10)) == 4
    with pytest.raises(ValidationError, match="not among the candidates"):
        k_center(x, 2, candidates=[1, 2], first=3)
