"""A model without weights is evaluated from predictions imported for it (evaluate(predict=False)): the same
evaluation a normal one keeps (figures as pycocotools gives them on the same data, per class, the review cache,
the data version), listed in model.evaluations, its status untouched; refused while it has no predictions there."""

from __future__ import annotations

import json
import random

import pytest

from desktop_app.errors import ValidationError

TEST = {"subset": "test"}


def _coco_ground_truth(cat, ds, items):
    """The test items' ground-truth boxes (what the scorer reads) as a COCO instances file's dict."""
    cats = {lab: i + 1 for i, lab in enumerate(ds.labels)}
    images, anns = [], []
    for k, it in enumerate(items, 1):
        images.append({"id": k, "file_name": it.name, "width": it.width, "height": it.height})
        for a in cat.list_annotations(item_ids=[it.id], ground_truth=True, types=["box"]):
            w, h = a.right - a.left, a.bottom - a.top
            anns.append({"id": len(anns) + 1, "image_id": k, "category_id": cats[a.label],
                         "bbox": [a.left, a.top, w, h], "area": a.area if a.area is not None else w * h,
                         "iscrowd": int(a.iscrowd)})
    return {"images": images, "annotations": anns, "categories": [{"id": i, "name": n} for n, i in cats.items()]}


def _jittered_results(gt, seed=5):
    """Each ground-truth box moved a little, some with another label, some missed, a few spurious, scored."""
    rng = random.Random(seed)
    size = {im["id"]: (im["width"], im["height"]) for im in gt["images"]}
    out = []
    for a in gt["annotations"]:
        if rng.random() < 0.1:
            continue
        x, y, w, h = a["bbox"]
        W, H = size[a["image_id"]]
        x, y = min(max(0.0, x + rng.uniform(-3, 3)), W - w), min(max(0.0, y + rng.uniform(-3, 3)), H - h)
        cat = a["category_id"] if rng.random() > 0.15 else rng.randint(1, len(gt["categories"]))
        out.append({"image_id": a["image_id"], "category_id": cat, "bbox": [x, y, w, h],
                    "score": round(rng.random(), 4)})
        if rng.random() < 0.2:
            out.append({"image_id": a["image_id"], "category_id": rng.randint(1, len(gt["categories"])),
                        "bbox": [2.0, 2.0, 20.0, 20.0], "score": round(rng.random(), 4)})
    return out


def test_stored_predictions_of_a_model_without_weights_score_as_pycocotools_does(client, tmp_path):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat = client.catalog
    ds = client.datasets.get("shapes-detection")
    model = client.models.get("pretrained-tinydet")
    assert model.status == "pre-trained" and not model.artifacts.list()          # nothing to run
    executions = len(cat.list_executions(model_id=model.id))
    with pytest.raises(ValidationError, match="no stored box predictions on the test subset of shapes-detection.*"
                                              "import-predictions"):
        model.evaluate(ds, filters=TEST, predict=False)
    assert len(cat.list_executions(model_id=model.id)) == executions and not model.evaluations.list()

    items = cat.list_items(ds.id, subset="test")
    gt = _coco_ground_truth(cat, ds, items)
    results = _jittered_results(gt)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(results))
    counts = model.predictions.import_from(tmp_path / "res.json", dataset=ds, images=tmp_path / "gt.json")
    assert counts["predictions"] == len(results) == model.predictions.count(ds)

    ex = model.evaluate(ds, filters=TEST, predict=False, name="offline")
    assert ex.status == "success", ex.error
    assert ex.record.input["predict"] is False and "stored predictions" in ex.record.input["title"]
    model.refresh()
    assert model.status == "pre-trained"

    coco = COCO(str(tmp_path / "gt.json"))
    ev = COCOeval(coco, coco.loadRes(str(tmp_path / "res.json")), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    summary = ex.output["summary"]
    for key, k in (("mAP", 0), ("mAP50", 1), ("mAP75", 2), ("AR100", 8)):
        assert summary[key] == pytest.approx(ev.stats[k], abs=1e-9), key

    # Kept as any evaluation: listed, with its figures per class, the review cache and the data it scored.
    kept = model.evaluations.get("offline")
    assert [e.name for e in model.evaluations.list()] == ["offline"]
    assert kept.id == ex.output["evaluation_id"] and kept.summary == summary
    assert set(kept.results["per_class"]) == set(ds.labels) and kept.results["n_predictions"] == len(results)
    assert kept.record.cache_sha and kept.record.execution_id == ex.id
    assert kept.record.data_version == ex.output["data_version"]
    assert model.metrics.list(figure="eval/mAP")                   # beside the training curves: leaderboards see it

    # Imported again (the same file), then scored again: the same figures, no duplicate predictions.
    model.predictions.import_from(tmp_path / "res.json", dataset=ds, images=tmp_path / "gt.json")
    again = model.evaluate(ds, filters=TEST, predict=False, name="offline")
    assert again.output["summary"] == summary and len(model.evaluations.list()) == 1


def test_stored_class_predictions_of_a_classifier_without_weights(client, tmp_path):
    cat = client.catalog
    ds = client.datasets.get("shapes")
    model = client.models.get("pretrained-resnet")
    rng = random.Random(2)
    folder = tmp_path / "dl"
    folder.mkdir()
    correct = total = 0
    for it in cat.list_items(ds.id, subset="test"):
        truth = min(cat.list_annotations(item_ids=[it.id], ground_truth=True, types=["class"]),
                    key=lambda a: a.id).label                      # an item's first class is its class
        label = truth if rng.random() < 0.7 else rng.choice([lb for lb in ds.labels if lb != truth])
        correct, total = correct + (label == truth), total + 1
        ann = {"type": "class", "label": label,
               "metadata": {"user": {"model": {"name": "elsewhere", "confidence": round(rng.random(), 3)}}}}
        (folder / f"{it.name}.json").write_text(json.dumps({"filename": "/" + it.name, "annotations": [ann]}))
    assert model.predictions.import_from(folder, dataset=ds, format="dataloop")["items"] == total
    ex = model.evaluate(ds, filters=TEST, predict=False)
    assert ex.status == "success", ex.error
    assert ex.output["summary"]["accuracy"] == pytest.approx(correct / total)
    assert model.evaluations.get("shapes-test").method == "classification"
