"""Embedding a model's items: vectors go to one store file (not rows), a rerun skips what is done, new items are
appended, new weights make the old vectors stale (dropped), a cancel keeps what was done, and the nearest
neighbour of an item is itself."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.catalog.feature_sets import queries
from desktop_app.errors import Cancelled, NotFoundError, ValidationError
from desktop_app.ml.handle import item_views
from desktop_app.ml.vector_search import nearest, normalized
from desktop_app.workflows.adapters import build_adapter
from desktop_app.workflows.embed import embed, feature_set_of, search
from embedding_models import resnet_with_weights, upload_weights


def test_embedding_is_stored_as_one_blob_rerun_skips_new_items_append_and_new_weights_drop_them(dl, tmp_path):
    model, ds = resnet_with_weights(dl, tmp_path)
    cat = dl.default_client().catalog
    fs = queries(cat)
    ids = cat.item_ids(ds.id)[:15]

    out = embed(cat, model.id, dataset_ids=[ds.id], filters={"item_ids": ids[:10]})
    assert (out["items"], out["embedded"], out["skipped"], out["count"], out["size"]) == (10, 10, 0, 10, 512)
    [rec] = fs.find()
    assert rec.name == model.name and rec.model_id == model.id and rec.count == 10 and rec.size == 512
    # one float32 .npy file of 10 x 512 in the store (and one of the 10 item ids), not a row per number
    blob = cat.store.path(rec.sha)
    assert np.load(blob).shape == (10, 512) and np.load(blob).dtype == np.float32
    assert blob.stat().st_size < 10 * 512 * 4 + 256
    first = fs.read(rec)
    assert sorted(first.ids.tolist()) == ids[:10]

    again = embed(cat, model.id, dataset_ids=[ds.id], filters={"item_ids": ids[:10]})
    assert (again["embedded"], again["skipped"], again["count"]) == (0, 10, 10)
    assert fs.of_model(model.id).sha == rec.sha                  # nothing rewritten

    more = embed(cat, model.id, dataset_ids=[ds.id], filters={"item_ids": ids})
    assert (more["embedded"], more["skipped"], more["count"]) == (5, 10, 15)
    grown = fs.of_model(model.id)
    assert grown.sha != rec.sha and not blob.exists()             # a new file; the old one, unreferenced, is gone
    after = fs.read(grown)
    by_id = dict(zip(after.ids.tolist(), np.asarray(after.values)))
    for i, item_id in enumerate(first.ids.tolist()):             # the vectors made before are kept as they were
        assert np.array_equal(by_id[item_id], first.values[i])

    # the nearest item to an item is itself, at distance ~0; the order is numpy's brute force
    hits = search(cat, grown, ids[3], k=5)
    assert hits[0][0].id == ids[3] and abs(hits[0][1]) < 1e-5
    assert [d for _, d in hits] == sorted(d for _, d in hits)
    v = normalized(np.asarray(after.values))
    brute = np.argsort(1 - v @ v[after.ids.tolist().index(ids[3])], kind="stable")[:5]
    assert [it.id for it, _ in hits] == after.ids[brute].tolist()

    upload_weights(model, tmp_path, seed=1)                       # new weights: the vectors are stale
    with pytest.raises(NotFoundError, match="weights changed"):
        feature_set_of(cat, model.id)
    assert fs.of_model(model.id) is None                          # dropped at that read
    fresh = embed(cat, model.id, item_ids=ids[:3])
    assert (fresh["embedded"], fresh["count"]) == (3, 3)


def test_a_cancel_keeps_the_vectors_made_so_far_and_a_rerun_embeds_the_rest(dl, tmp_path):
    model, ds = resnet_with_weights(dl, tmp_path)
    cat = dl.default_client().catalog
    items = item_views(cat, ds.id, {"item_ids": cat.item_ids(ds.id)[:12]})
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2            # the third batch is canceled

    adapter = build_adapter(cat, model.id, context={"should_stop": stop})
    with pytest.raises(Cancelled):
        adapter.embed_items(items, batch_size=4, skip_embedded=True)
    assert queries(cat).of_model(model.id).count == 8
    done, vectors = build_adapter(cat, model.id).embed_items(items, batch_size=4, skip_embedded=True)
    assert [it.id for it in done] == [it.id for it in items[8:]] and vectors.shape == (4, 512)
    assert queries(cat).of_model(model.id).count == 12


def test_vectors_of_the_wrong_size_or_count_are_refused_naming_the_item(dl, tmp_path):
    model, ds = resnet_with_weights(dl, tmp_path)
    cat = dl.default_client().catalog
    items = item_views(cat, ds.id, {"item_ids": cat.item_ids(ds.id)[:2]})
    adapter = build_adapter(cat, model.id)
    adapter.embed = lambda batch, **kw: [np.zeros(7, np.float32) for _ in batch]
    with pytest.raises(ValidationError, match=rf"item {items[0].id} .*7 numbers.*512"):
        adapter.embed_items(items)
    adapter.embed = lambda batch, **kw: [np.ones(512)]
    with pytest.raises(ValidationError, match="1 vectors for a batch of 2"):
        adapter.embed_items(items, batch_size=2)
    assert queries(cat).of_model(model.id) is None


def test_exact_search_matches_brute_force_and_takes_a_method():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    q = rng.normal(size=16)
    idx, dist = nearest(vectors, q, 10, method="exact")
    full = 1 - normalized(vectors) @ normalized(q)
    assert idx.tolist() == np.argsort(full, kind="stable")[:10].tolist()
    assert np.allclose(dist, full[idx], atol=1e-5)
    with pytest.raises(ValidationError, match="method"):
        nearest(vectors, q, 10, method="hnsw")
    with pytest.raises(ValidationError, match="16"):
        nearest(vectors, q[:3], 10)


def test_the_embed_job_builds_a_large_sets_search_index_ahead(dl, tmp_path, monkeypatch):
    pytest.importorskip("faiss")
    from desktop_app.ml import ann_index
    model, ds = resnet_with_weights(dl, tmp_path)
    cat = dl.default_client().catalog
    ids = cat.item_ids(ds.id)[:12]
    embed(cat, model.id, dataset_ids=[ds.id], filters={"item_ids": ids[:4]})
    rec = queries(cat).of_model(model.id)
    path, _ = ann_index.index_paths(cat.store.root, rec.id)
    assert not path.exists()                                      # under MIN_VECTORS: searched exactly, no index
    monkeypatch.setattr(ann_index, "MIN_VECTORS", 8)              # 8 stands for 50,000
    steps = []
    embed(cat, model.id, dataset_ids=[ds.id], filters={"item_ids": ids}, progress=lambda p, m="": steps.append(m))
    assert path.is_file() and ann_index.load(cat.store, rec.id).count == 12   # built in the job, not at a search
    assert any("indexing 12 vectors" in m for m in steps)
