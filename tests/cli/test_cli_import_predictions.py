"""`import-predictions` stores a COCO results file as a model's predictions and `evaluate --no-predict` scores them
for a model without weights; plain `import` refuses a results file and a COCO file whose annotations all carry
scores, pointing to import-predictions."""

from __future__ import annotations

import json

from desktop_app.cli.main import main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_predictions_then_evaluate_without_predicting(client, capsys, tmp_path):
    cat = client.catalog
    ds = client.datasets.get("shapes-detection")
    items = cat.list_items(ds.id, subset="test")
    gt_dir = ds.export(tmp_path / "gt", "coco", filters={"subset": "test"})
    gt = json.loads((gt_dir / "annotations.json").read_text())
    boxes = [a for a in gt["annotations"] if "segmentation" not in a]
    results = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.8}
               for a in boxes]
    res = tmp_path / "res.json"
    res.write_text(json.dumps(results))

    code, out, err = run(capsys, "import-predictions", str(res), "--model", "pretrained-tinydet", "--dataset",
                         "shapes-detection", "--images", str(gt_dir / "annotations.json"))
    assert code == 0, err
    assert f"imported {len(results)} predictions of pretrained-tinydet on {len(items)} items of shapes-detection" in out
    assert "--no-predict" in out
    code, out, err = run(capsys, "evaluate", "pretrained-tinydet", "--dataset", "shapes-detection", "--subset", "test",
                         "--no-predict", "--json")
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert summary["mAP"] == 1.0 and summary["fn"] == 0          # the ground truth's own boxes, every one found
    assert client.models.get("pretrained-tinydet").status == "pre-trained"

    # An unknown label: refused, listing it, nothing written.
    results[0]["category_id"] = 42
    res.write_text(json.dumps(results))
    code, out, err = run(capsys, "import-predictions", str(res), "--model", "pretrained-tinydet", "--dataset",
                         "shapes-detection", "--images", str(gt_dir / "annotations.json"), "--json")
    assert code == 2 and "category_id 42 (1 prediction)" in err and "--label-map" in err

    # Plain import: a results list and an instances file of scored annotations are refused, no dataset made.
    code, out, err = run(capsys, "import", str(res), "--dataset", "from-results")
    assert code == 2 and "COCO results file" in err and "desktop-app import-predictions" in err
    scored = dict(gt, annotations=[dict(a, score=0.5) for a in boxes])
    (gt_dir / "annotations.json").write_text(json.dumps(scored))
    code, out, err = run(capsys, "import", str(gt_dir), "--format", "coco", "--dataset", "from-scored")
    assert code == 2 and "every annotation has a score" in err and "import-predictions" in err
    assert [d.name for d in client.sample_project.datasets.list()] == ["shapes", "shapes-detection", "shapes-segmentation"]
