"""The approximate vector index (faiss IVF): recall against exact search, a feature set's index built, saved in the
store, reloaded, kept while rows are appended (searched exactly and merged in), rebuilt when its rows change or
its file is damaged, never outside the store; and exact search when faiss is not installed."""

from __future__ import annotations

import logging
import os
import sys

import numpy as np
import pytest
from PIL import Image

from desktop_app.catalog.feature_sets import queries
from desktop_app.evaluation.similarity import knn
from desktop_app.ml import ann_index
from desktop_app.ml.vector_search import nearest

faiss = pytest.importorskip("faiss")


def clustered(n: int, dim: int, n_queries: int, *, clusters: int, spread: int, seed: int):
    """Gaussian clusters each spread over a random `spread`-dimensional subspace (as bench/embeddings.py makes)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((clusters, dim))
    bases = rng.standard_normal((clusters, spread, dim)) / np.sqrt(spread)
    c = rng.integers(0, clusters, n + n_queries)
    z = rng.standard_normal((n + n_queries, spread))
    x = centers[c] + 0.7 * np.einsum("ns,nsd->nd", z, bases[c]) + 0.1 * rng.standard_normal((n + n_queries, dim))
    x = x.astype(np.float32)
    return x[:n], x[n:]


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found.tolist(), truth.tolist())]))


def test_recall_on_a_clustered_set_and_appended_rows_are_merged_in():
    x, q = clustered(20_000, 64, 100, clusters=200, spread=16, seed=1)
    index = ann_index.VectorIndex.build(x[:18_000])
    assert index.count == 18_000 and index.meta.nlist == 461 and index.meta.nprobe == 16
    truth, _ = knn(q, x, 10)
    found = np.array([nearest(x, v, 10, method="approx", index=index)[0] for v in q])
    assert _recall(found, truth) >= 0.95
    # a row appended after the build is found (exactly) and comes first for itself
    idx, dist = nearest(x, x[19_500], 5, method="approx", index=index)
    assert idx[0] == 19_500 and dist[0] < 1e-5 and list(dist) == sorted(dist)
    # "exact" ignores the index, "auto" below MIN_VECTORS too: both are knn's answer
    for method in ("exact", "auto"):
        idx, dist = nearest(x, q[0], 10, method=method, index=index)
        assert idx.tolist() == truth[0].tolist()


@pytest.fixture
def small_set(dl, tmp_path, monkeypatch):
    """12 items with vectors in a model's feature set; indexes from 4 vectors on."""
    monkeypatch.setattr(ann_index, "MIN_VECTORS", 4)
    ann_index._cache.clear()
    project = dl.projects.create("ann")
    ds = project.datasets.create("pool", labels=["a"])
    catalog = ds._client.catalog
    ids = []
    for n in range(14):
        path = tmp_path / f"im{n}.png"
        Image.new("RGB", (8, 8), (n * 15, 0, 0)).save(path)
        ids.append(catalog.add_item(ds.id, path).id)
    model = dl.packages.get(package_name="resnet").models.create(model_name="m", project_id=project.id,
                                                                 labels=["a"])
    vectors = np.random.default_rng(0).normal(size=(14, 16)).astype(np.float32)
    q = queries(catalog)
    q.add(model.id, ids[:10], vectors[:10], weights_sha=q.weights_sha(model.id))
    yield catalog, model, ids, vectors
    ann_index._cache.clear()


def _exact(vectors, ids, query, k):
    order, _ = knn(query[None], vectors, k)
    return [ids[i] for i in order[0]]


def test_a_feature_sets_index_is_saved_reloaded_kept_for_appends_and_rebuilt_when_rows_change(dl, small_set):
    catalog, model, ids, vectors = small_set
    fs = model.feature_set
    hits = fs.search(ids[3], k=4)                                   # auto, 10 >= 4 rows: through the index
    assert [it.id for it, _ in hits] == _exact(vectors[:10], ids[:10], vectors[3], 4)
    path, meta_path = ann_index.index_paths(catalog.store.root, fs.id)
    assert path.parent == catalog.store.root / "indexes" and path.is_file() and meta_path.is_file()
    from desktop_app.catalog.doctor import check_catalog
    assert not [f for f in check_catalog(catalog.home).findings if f.check == "store"]   # no stray file warned of
    stamp = path.stat().st_mtime_ns
    ann_index._cache.clear()                                        # another process: read from the file
    loaded = ann_index.load(catalog.store, fs.id)
    assert loaded is not None and loaded.count == 10 and loaded.meta.model_id == model.id

    q = queries(catalog)
    q.add(model.id, ids[10:12], vectors[10:12], weights_sha=q.weights_sha(model.id))   # 2 appended: 20 % tail
    fs = model.feature_set
    hits = fs.search(vectors[11], k=3, method="approx")
    assert hits[0][0].id == ids[11] and hits[0][1] < 1e-5           # found by the exact scan of the tail
    assert path.stat().st_mtime_ns == stamp                         # the index was kept as it was

    q.add(model.id, [ids[2]], vectors[12:13], weights_sha=q.weights_sha(model.id))    # an item embedded again
    fs = model.feature_set
    hits = fs.search(vectors[12], k=2, method="approx")
    assert hits[0][0].id == ids[2]
    rebuilt = ann_index.load(catalog.store, fs.id)
    assert rebuilt.count == 12 and path.stat().st_mtime_ns != stamp

    fs.delete()
    assert not path.exists() and not meta_path.exists()


def test_the_index_of_a_dropped_set_is_swept_when_another_is_built(dl, small_set):
    catalog, model, ids, vectors = small_set
    old = model.feature_set
    old.search(ids[0], k=2)
    old_path, _ = ann_index.index_paths(catalog.store.root, old.id)
    q = queries(catalog)
    q.drop(model.id, reason="test")                                 # as when the model is trained again
    q.add(model.id, ids, vectors, weights_sha=q.weights_sha(model.id))
    new = model.feature_set
    assert new.id != old.id and old_path.exists()
    new.search(ids[0], k=2)
    assert not old_path.exists() and ann_index.index_paths(catalog.store.root, new.id)[0].exists()


@pytest.mark.parametrize("damage", ["truncate", "flip", "sidecar"])
def test_a_damaged_index_file_is_detected_and_rebuilt(dl, small_set, damage, caplog):
    catalog, model, ids, vectors = small_set
    fs = model.feature_set
    want = [it.id for it, _ in fs.search(ids[5], k=3)]
    path, meta_path = ann_index.index_paths(catalog.store.root, fs.id)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:40] + bytes(b ^ 0xFF for b in data[40:80]) + data[80:])
    else:
        meta_path.write_text("{not json")
    os.utime(meta_path, ns=(1, 1))                                  # not the copy this process keeps loaded
    with caplog.at_level(logging.WARNING, logger="desktop_app.ml.ann_index"):
        assert [it.id for it, _ in model.feature_set.search(ids[5], k=3)] == want
    assert "unusable and will be rebuilt" in caplog.text
    ann_index._cache.clear()
    assert ann_index.load(catalog.store, fs.id) is not None         # the rebuilt one is whole


def test_an_index_path_cannot_leave_the_store(dl, small_set, tmp_path):
    catalog, model, ids, vectors = small_set
    for bad in ("../x", "a/b", "", "..", "x" * 65, "a.b"):
        with pytest.raises(ValueError):
            ann_index.index_paths(catalog.store.root, bad)
    fs = model.feature_set
    path, _ = ann_index.index_paths(catalog.store.root, fs.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside.faiss"
    outside.write_bytes(b"")
    path.symlink_to(outside)                                        # a link leading out of the store
    with pytest.raises(ValueError, match="leads out"):
        ann_index.index_paths(catalog.store.root, fs.id)
    hits = fs.search(ids[1], k=2)                                   # searched all the same (no index saved)
    assert hits[0][0].id == ids[1]
    assert outside.read_bytes() == b""


def test_without_faiss_every_search_is_exact_and_it_is_said_once(dl, small_set, monkeypatch, caplog):
    catalog, model, ids, vectors = small_set
    monkeypatch.setitem(sys.modules, "faiss", None)                 # import faiss -> ImportError
    monkeypatch.setattr(ann_index, "_said_missing", False)
    fs = model.feature_set
    with caplog.at_level(logging.INFO, logger="desktop_app.ml.ann_index"):
        for method in ("auto", "approx", "auto"):
            hits = fs.search(vectors[7], k=4, method=method)
            assert [it.id for it, _ in hits] == _exact(vectors[:10], ids[:10], vectors[7], 4)
    assert caplog.text.count("faiss is not installed") == 1
    assert not (catalog.store.root / "indexes").exists()
