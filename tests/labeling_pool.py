"""A small pool for the labelling tests (SDK and CLI): 8 items, a classifier, predictions and vectors stored
straight into the catalog (no training)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from desktop_app.catalog.feature_sets import queries
from desktop_app.domain.annotations import Annotation

LABELS = ["a", "b", "c"]


def make_pool(dl, tmp_path, *, model_name: str, labelled: tuple[int, ...] = (0, 1)):
    """8 items (ids in order): 0-1 train, 2-5 without a subset, 6 validation, 7 test; the items at `labelled`
    have a class; a resnet classifier `model_name`. Returns (dataset, model, catalog, ids)."""
    project = dl.projects.create("labeling")
    ds = project.datasets.create("pool", labels=LABELS)
    catalog = ds._client.catalog
    ids = []
    for n in range(8):
        path = tmp_path / f"im{n}.png"
        Image.new("RGB", (8, 8), (n * 30, 0, 0)).save(path)
        subset = {0: "train", 1: "train", 6: "validation", 7: "test"}.get(n)
        ids.append(catalog.add_item(ds.id, path, subset=subset).id)
    for n in labelled:
        catalog.add_annotations(ids[n], [Annotation(type="class", label="a")])
    model = dl.packages.get(package_name="resnet").models.create(model_name=model_name, project_id=project.id,
                                                                 labels=LABELS)
    return ds, model, catalog, ids


def store_predictions(catalog, model, ds, probs_by_item, keep_vectors: bool = True) -> None:
    """Each item's class prediction (the top class), every class's probability in its metadata when asked."""
    preds = {}
    for item, p in probs_by_item.items():
        k = int(np.argmax(p))
        meta = {"scores": list(p)} if keep_vectors else {}
        preds[item] = [Annotation(type="class", label=LABELS[k], score=float(p[k]), metadata=meta)]
    catalog.replace_predictions(model.id, model.name, preds, ds.id)


def store_vectors(catalog, model, ids, vectors) -> None:
    q = queries(catalog)
    q.add(model.id, ids, np.asarray(vectors, np.float32), weights_sha=q.weights_sha(model.id))
