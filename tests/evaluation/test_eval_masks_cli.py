"""`desktop-app evaluate` of segmentation models from their stored predictions: mask AP for an instance model,
mIoU for a semantic one; a dataset without masks or polygons is refused naming them, before anything runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from desktop_app.cli.main import main
from desktop_app.domain import masks as dm
from desktop_app.domain.annotations import Annotation

from test_eval_masks_instance import populate


@pytest.fixture
def seeded(client, tmp_path):
    cat = client.catalog
    project = client.projects.get("Sample project")
    return populate(cat, project.id, tmp_path, package="seg-cli")


def test_cli_evaluate_prints_mask_ap_of_an_instance_model(seeded, capsys):
    cat, ds, model, ids, _ = seeded
    assert main(["evaluate", "seg-v1", "--dataset", "blobs", "--no-predict"]) == 0
    out = capsys.readouterr().out
    assert "COCO segm (mask IoU)" in out
    rec = next(e for e in cat.list_evaluations(model_id=model.id))
    assert rec.method == "coco" and rec.results["iou_type"] == "segm"
    assert f"mask mAP50: {rec.results['summary']['mAP50']:.4f}" in out
    assert "iou_type" not in out
    assert main(["evaluate", "seg-v1", "--dataset", "blobs", "--no-predict", "--json", "--iou", "0.75"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["method"] == "coco" and js["summary"]["iou_type"] == "segm"


def test_cli_evaluate_prints_miou_of_a_semantic_model_and_refuses_boxes_only(seeded, client, capsys, tmp_path):
    cat, ds, _, ids, _ = seeded
    project = client.projects.get("Sample project")
    pkg = cat.create_package("sem-cli", project_id=project.id, output_type="semantic")
    sem = cat.create_model("sem-v1", project_id=project.id, package_id=pkg.id, labels=["disc", "block", "bar"],
                           output_type="semantic", dataset_id=ds.id)
    preds = {}
    for i in ids:
        it = cat.get_item(i)
        m = np.zeros((it.height, it.width), bool)
        m[: it.height // 2] = True
        preds[i] = [Annotation(type="binary", label="disc", coordinates=dm.encode(m), score=0.8)]
    cat.replace_predictions(sem.id, sem.name, preds, ds.id)
    assert main(["evaluate", "sem-v1", "--dataset", "blobs", "--no-predict"]) == 0
    out = capsys.readouterr().out
    rec = next(e for e in cat.list_evaluations(model_id=sem.id))
    assert rec.method == "semantic" and "pixels: mIoU" in out
    assert f"miou: {rec.results['summary']['miou']:.4f}" in out
    # a dataset of boxes only: no masks or polygons to score against, refused before anything runs
    boxes = cat.create_dataset(project.id, "boxes-only", labels=["disc"])
    Image.new("RGB", (16, 16)).save(tmp_path / "b.png")
    cat.add_annotations(cat.add_item(boxes.id, tmp_path / "b.png").id,
                        [Annotation(type="box", label="disc", coordinates=[0, 0, 4, 4])])
    n = len(cat.list_executions(model_id=sem.id))
    assert main(["evaluate", "sem-v1", "--dataset", "boxes-only", "--no-predict"]) != 0
    err = capsys.readouterr().err
    assert "boxes-only holds no ground-truth masks or polygons to score a semantic segmentation model against " \
           "(items: 1 with box)" in err
    assert len(cat.list_executions(model_id=sem.id)) == n
