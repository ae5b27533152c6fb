"""Exported predictions keep their scores and say whose they are, so nothing mistakes them for ground truth;
formats that cannot hold them are refused; a COCO results file pairs with the COCO export of the same items."""

from __future__ import annotations

import json

import pytest

from desktop_app.errors import UserError
from desktop_app.formats import read_coco
from desktop_app.formats.base import Annotation


@pytest.fixture
def predicted(client):
    """shapes-detection's first 4 test items with 2 predictions each from pretrained-tinydet."""
    cat = client.catalog
    ds = client.datasets.get("shapes-detection")
    items = cat.list_items(ds.id, subset="test")[:4]
    model = client.models.get("pretrained-tinydet")
    preds = {it.id: [Annotation("box", "star", [1.0, 2.0, 30.0, 40.0], score=0.75),
                     Annotation("box", "circle", [5.0, 5.0, 20.0, 25.0], score=0.25)] for it in items}
    cat.replace_predictions(model.id, model.name, preds, ds.id)
    return ds, model, [it.id for it in items]


def test_coco_export_marks_predictions_with_score_and_model(predicted, tmp_path):
    ds, model, ids = predicted
    out = ds.export(tmp_path / "coco", "coco", filters={"ids": ids}, include_predictions=model.id)
    anns = json.loads((out / "annotations.json").read_text())["annotations"]
    preds = [a for a in anns if "model" in a]
    assert len(preds) == 8 and sorted({a["score"] for a in preds}) == [0.25, 0.75]
    assert all(a["model"] == {"name": model.name, "id": model.id} for a in preds)
    assert not any("score" in a for a in anns if "model" not in a)          # the ground truth carries neither
    back = read_coco(out)
    got = [a for it in back.items for a in it.annotations if a.model_name is not None]
    assert len(got) == 8 and {a.model_name for a in got} == {model.name}
    assert all(a.metadata["model_id"] == model.id for a in got)


def test_an_exported_coco_reimports_its_predictions_as_predictions(predicted, client, tmp_path):
    ds, model, ids = predicted
    out = ds.export(tmp_path / "coco", "coco", filters={"ids": ids}, include_predictions=model.id)
    copy = client.projects.get("Sample project").datasets.create("copy")
    copy.import_from(out, "coco")
    cat = client.catalog
    gt = cat.list_annotations(dataset_id=copy.id, ground_truth=True)
    pr = cat.list_annotations(dataset_id=copy.id, ground_truth=False)
    assert len(pr) == 8 and all(a.score in (0.25, 0.75) and a.model_name == model.name for a in pr)
    assert len(gt) == len(cat.list_annotations(item_ids=ids, ground_truth=True))


def test_yolo_export_keeps_the_confidence_column(predicted, tmp_path):
    ds, model, ids = predicted
    out = ds.export(tmp_path / "yolo", "yolo", filters={"ids": ids}, include_predictions=model.id)
    rows = [ln.split() for f in (out / "labels").rglob("*.txt") for ln in f.read_text().splitlines()]
    six = [r for r in rows if len(r) == 6]
    assert len(six) == 8 and sorted({float(r[5]) for r in six}) == [0.25, 0.75]
    gt = [r for r in rows if len(r) != 6]
    assert gt and all(len(r) == 5 or (len(r) >= 7 and len(r) % 2) for r in gt)   # boxes; polygons: class + x,y pairs


def test_dataloop_export_carries_model_info(predicted, tmp_path):
    ds, model, ids = predicted
    out = ds.export(tmp_path / "dl", "dataloop", filters={"ids": ids}, include_predictions=model.id)
    anns = [a for f in (out / "json").rglob("*.json") for a in json.loads(f.read_text())["annotations"]]
    infos = [a["metadata"]["user"]["model"] for a in anns if "metadata" in a]
    assert len(infos) == 8
    assert all(i["name"] == model.name and i["model_id"] == model.id and i["confidence"] in (0.25, 0.75)
               for i in infos)


@pytest.mark.parametrize("fmt", ["voc", "imagefolder"])
def test_formats_that_cannot_hold_predictions_are_refused(predicted, tmp_path, fmt):
    ds, model, ids = predicted
    with pytest.raises(UserError, match=f"the {fmt} format cannot hold predictions"):
        ds.export(tmp_path / fmt, fmt, filters={"ids": ids}, include_predictions=model.id)
    assert not (tmp_path / fmt).exists()
    with pytest.raises(UserError, match="always exported with their scores"):
        ds.export(tmp_path / "c", "coco", include_predictions=model.id, include_scores=False)


def test_results_file_matches_the_coco_export(predicted, tmp_path):
    ds, model, ids = predicted
    gt = json.loads((ds.export(tmp_path / "gt", "coco", filters={"ids": ids}) / "annotations.json").read_text())
    res_path = ds.export_results(tmp_path / "res.json", model.id, filters={"ids": ids})
    res = json.loads(res_path.read_text())
    assert len(res) == 8
    image_ids = {im["id"] for im in gt["images"]}
    cats = {c["name"]: c["id"] for c in gt["categories"]}
    assert {r["image_id"] for r in res} <= image_ids
    assert {r["category_id"] for r in res} == {cats["star"], cats["circle"]}
    assert all(set(r) == {"image_id", "category_id", "bbox", "score"} for r in res)
    # A folder gets results.json; a model without predictions there is refused, nothing written.
    (tmp_path / "dir").mkdir()
    assert ds.export_results(tmp_path / "dir", model.id, filters={"ids": ids}).name == "results.json"
    with pytest.raises(UserError, match="no scored box"):
        ds.export_results(tmp_path / "none.json", "pretrained-fasterrcnn")
    assert not (tmp_path / "none.json").exists()
