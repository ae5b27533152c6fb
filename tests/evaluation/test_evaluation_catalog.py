"""model.evaluate through the app: predictions stored, COCO-exact scores, evaluation records, live thresholds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from desktop_app.cli.main import main
from desktop_app.errors import AlreadyExistsError, ValidationError

ORACLE = Path(__file__).parent / "oracle_package"


@pytest.fixture
def oracle(dl):
    pkg = dl.packages.push(package_name="oracle", src_path=ORACLE, entry_point="adapter.py",
                           class_name="OracleBoxAdapter", output_type="box")
    ds = dl.datasets.get("shapes-detection")
    return pkg.models.create(model_name="oracle-v1", dataset_id=ds.id,
                             project_id=dl.projects.get("Sample project").id, labels=ds.labels)


def _pycocotools_stats(catalog, model_id, dataset_id, item_ids, labels):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    cats = [{"id": i + 1, "name": lb} for i, lb in enumerate(labels)]
    gt_anns = [{"id": a.id, "image_id": a.item_id, "category_id": labels.index(a.label) + 1,
                "bbox": [a.left, a.top, a.right - a.left, a.bottom - a.top], "area": a.area,
                "iscrowd": a.iscrowd}
               for a in catalog.list_annotations(item_ids=item_ids, ground_truth=True, types=["box"])]
    coco = COCO()
    coco.dataset = {"images": [{"id": i} for i in item_ids], "categories": cats, "annotations": gt_anns}
    coco.createIndex()
    dts = [{"image_id": a.item_id, "category_id": labels.index(a.label) + 1,
            "bbox": [a.left, a.top, a.right - a.left, a.bottom - a.top], "score": a.score}
           for a in catalog.list_annotations(item_ids=item_ids, model_id=model_id, types=["box"])]
    ev = COCOeval(coco, coco.loadRes(dts), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats


def test_dataloop_evaluate_snippet_and_coco_exact_scores(dl, oracle):
    dataset_id = dl.datasets.get("shapes-detection").id
    datasetId = dataset_id  # noqa: N806

    package = dl.packages.get(package_name='oracle')
    model = package.models.get(model_name='oracle-v1')

    dataset = dl.datasets.get(dataset_id=datasetId)

    execution = model.evaluate(dataset=dataset)

    assert execution.status == "success", execution.logs()
    ev = model.evaluations.get("shapes-detection")
    cat = dl.default_client().catalog
    items = cat.item_ids(dataset_id)
    theirs = _pycocotools_stats(cat, model.id, dataset_id, items, dataset.labels)
    ours = [ev.results["stats"][k] for k in ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10",
                                             "AR100", "ARs", "ARm", "ARl")]
    assert np.abs(np.array(ours) - theirs).max() <= 1e-9
    assert 0.3 < ev.summary["mAP50"] < 1.0
    # Predictions are annotations with model_info; a second run replaces them, never duplicates.
    n = len(cat.list_annotations(model_id=model.id))
    model.evaluate(dataset=dataset)
    assert len(cat.list_annotations(model_id=model.id)) == n
    # Beside the training curves: evaluation figures are metric samples.
    assert model.metrics.list(figure="eval/mAP50", legend="shapes-detection")


def test_evaluation_records_list_rename_delete_export(dl, oracle, tmp_path):
    ds = dl.datasets.get("shapes-detection")
    oracle.evaluate(dataset=ds, filters={"subset": "test"})
    oracle.evaluate(dataset=ds, filters={"subset": "validation"}, name="val-run")
    names = sorted(e.name for e in oracle.evaluations.list())
    assert names == ["shapes-detection-test", "val-run"]
    ev = oracle.evaluations.get("val-run")
    assert ev.results["n_items"] == ds.items.count({"subset": "validation"})
    ev.rename("validation")
    with pytest.raises(AlreadyExistsError):
        oracle.evaluations.get("validation").rename("shapes-detection-test")
    files = oracle.evaluations.get("validation").export(tmp_path)
    data = json.loads(files[0].read_text())
    assert data["results"]["stats"]["AP50"] == ev.results["stats"]["AP50"]
    csv_text = files[1].read_text()
    assert csv_text.splitlines()[0].startswith("class,AP,AP50") and "circle" in csv_text
    oracle.evaluations.get("validation").delete()
    assert [e.name for e in oracle.evaluations.list()] == ["shapes-detection-test"]


def test_live_thresholds_recompute_from_the_cache(dl, oracle):
    ds = dl.datasets.get("shapes-detection")
    oracle.evaluate(dataset=ds, filters={"subset": "test"}, name="t")
    ev = oracle.evaluations.get("t")
    low = ev.at_thresholds(iou_threshold=0.5, score_threshold=0.0)
    high = ev.at_thresholds(score_threshold=0.8)
    assert high["summary"]["fp"] < low["summary"]["fp"]
    assert high["summary"]["fn"] > low["summary"]["fn"]
    assert high["summary"]["tp"] + high["summary"]["fn"] == low["summary"]["tp"] + low["summary"]["fn"]
    strict = ev.at_thresholds(iou_threshold=0.9, score_threshold=0.0)
    assert strict["summary"]["tp"] < low["summary"]["tp"]
    # Per-class threshold: only that class's figures move.
    per = ev.at_thresholds(iou_threshold=0.5, score_threshold={"star": 0.99})
    assert per["per_class"]["star"]["fp"] <= low["per_class"]["star"]["fp"]
    assert per["per_class"]["square"] == low["per_class"]["square"]
    m = per["confusion"]["matrix"]
    assert per["confusion"]["labels"][-1] == "background" and len(m) == len(ds.labels) + 1
    # Instances: the same numbers, one by one.
    fps = ev.instances("fp", iou_threshold=0.5, score_threshold=0.0)
    assert len(fps) == low["summary"]["fp"]
    assert fps == sorted(fps, key=lambda r: -r["score"])
    fns = ev.instances("fn")
    assert len(fns) == low["summary"]["fn"] and all(r["kind"] == "fn" for r in fns)
    star_fp = ev.instances("fp", label="star", min_score=0.2)
    assert all(r["label"] == "star" and r["score"] >= 0.2 for r in star_fp)


def test_evaluate_refuses_bad_requests(dl, oracle):
    ds = dl.datasets.get("shapes-detection")
    with pytest.raises(ValidationError, match="selects no items"):
        oracle.evaluate(dataset=ds, filters={"label": "no-such-label"})
    with pytest.raises(ValidationError, match="iou_threshold"):
        oracle.evaluate(dataset=ds, iou_threshold=0)


def test_evaluate_refuses_a_dataset_without_ground_truth_for_the_task_before_predicting(dl, oracle):
    """A classifier on box-only items (or a detector on class-only ones) is refused up front, nothing predicted."""
    from desktop_app.workflows.evaluate import evaluate_model
    cat = dl.default_client().catalog
    det_ds, cls_ds = dl.datasets.get("shapes-detection"), dl.datasets.get("shapes")
    pkg = dl.packages.push(package_name="oracle-cls", src_path=ORACLE, entry_point="adapter.py",
                           class_name="OracleBoxAdapter", output_type="class")
    classifier = pkg.models.create(model_name="cls-v1", dataset_id=cls_ds.id, labels=cls_ds.labels,
                                   project_id=dl.projects.get("Sample project").id)
    n = len(cat.item_ids(det_ds.id, subset="test"))
    with pytest.raises(ValidationError, match=re.escape(f"the test subset of shapes-detection holds no ground-truth "
                                                        f"class labels to score a classifier against (items: {n} "
                                                        f"with box, {n} with segment)")):
        classifier.evaluate(dataset=det_ds, filters={"subset": "test"})
    with pytest.raises(ValidationError, match="shapes-detection holds no ground-truth class labels"):
        evaluate_model(cat, classifier.id, det_ds.id)          # the job's own entry refuses too
    assert cat.list_executions(model_id=classifier.id) == []
    assert cat.list_annotations(model_id=classifier.id) == []
    assert cat.list_evaluations(model_id=classifier.id) == []
    # A detector on items whose only ground truth is a class label: the same, worded for boxes.
    test_ids = cat.item_ids(cls_ds.id, subset="test")
    boxes = [a.id for a in cat.list_annotations(item_ids=test_ids, ground_truth=True) if a.type != "class"]
    for a in boxes:
        cat.delete_annotation(a)
    with pytest.raises(ValidationError, match=re.escape("holds no ground-truth boxes or polygons to score a detector "
                                                        f"against (items: {len(test_ids)} with class)")):
        oracle.evaluate(dataset=cls_ds, filters={"subset": "test"})
    assert oracle.evaluate(dataset=cls_ds, filters={"subset": "validation"}).status == "success"  # still has boxes


def test_cli_evaluate_coco_prints_the_12_stats(tmp_path, capsys):
    gt = {"images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
          "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 30], "area": 900,
                           "iscrowd": 0},
                          {"id": 2, "image_id": 2, "category_id": 2, "bbox": [50, 50, 40, 40], "area": 1600,
                           "iscrowd": 0}]}
    dt = [{"image_id": 1, "category_id": 1, "bbox": [11, 11, 30, 30], "score": 0.9},
          {"image_id": 2, "category_id": 1, "bbox": [50, 50, 40, 40], "score": 0.8}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    assert main(["evaluate-coco", "--gt", str(tmp_path / "gt.json"), "--dt", str(tmp_path / "dt.json"),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["stats"]) == 12 and out["stats"][1] == pytest.approx(0.5)
    dt.append({"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5})
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    assert main(["evaluate-coco", "--gt", str(tmp_path / "gt.json"), "--dt", str(tmp_path / "dt.json")]) == 2
    assert "99" in capsys.readouterr().err
