"""model.predict(item_ids=...): a queued job in a worker process stores predictions as annotations with model_info."""

from __future__ import annotations

import numpy as np

from servehelpers import make_model, push_brightbox


def _brightest_box(item) -> list[float]:
    img = np.asarray(item.open_image().convert("RGB")).astype(np.int32).sum(axis=2)
    ys, xs = np.nonzero(img == img.max())
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def test_predict_items_end_to_end_stores_annotations_with_model_info(dl, tmp_path):
    dataset = dl.projects.get(project_name="Sample project").datasets.get(dataset_name="shapes-detection")
    pkg = push_brightbox(dl, tmp_path)
    model = make_model(dl, pkg, tmp_path, dataset=dataset)
    items = dataset.items.list(limit=5)
    gt_before = {it.id: len(it.annotations.list(ground_truth=True)) for it in items}

    ex = model.predict(item_ids=[it.id for it in items])
    assert ex.status == "success", ex.error or ex.logs()
    assert ex.output == {"items": 5, "annotations": 10}
    for it in items:
        preds = it.annotations.list(model_id=model.id)
        assert sorted(a.label for a in preds) == ["bright", "frame"]
        bright = next(a for a in preds if a.label == "bright")
        assert bright.model_info == {"name": model.name, "model_id": model.id, "confidence": 0.9}
        assert not bright.is_ground_truth
        assert [bright.left, bright.top, bright.right, bright.bottom] == _brightest_box(it)
        assert len(it.annotations.list(ground_truth=True)) == gt_before[it.id]  # ground truth untouched

    # Predicting again replaces this model's predictions instead of piling them up.
    ex = model.predict(item_ids=[items[0].id])
    assert ex.status == "success"
    assert len(items[0].annotations.list(model_id=model.id)) == 2


def test_predict_with_a_model_that_cannot_load_fails_the_job_with_its_message(dl, tmp_path):
    dataset = dl.projects.get(project_name="Sample project").datasets.get(dataset_name="shapes-detection")
    pkg = push_brightbox(dl, tmp_path, package_name="broken", class_name="BrokenLoad")
    model = make_model(dl, pkg, tmp_path, name="broken-v1", dataset=dataset)
    item = dataset.items.list(limit=1)[0]
    ex = model.predict(item_ids=[item.id])
    assert ex.status == "failed"
    assert "weights are corrupt (on purpose)" in ex.error
    assert item.annotations.list(model_id=model.id) == []
