"""export --results writes a COCO results file that evaluate-coco and pycocotools score alike against the COCO
export of the same items; --predictions to a format that cannot hold them is refused."""

from __future__ import annotations

import contextlib
import io
import json
import random

import pytest

from desktop_app.cli.main import main
from desktop_app.formats.base import Annotation


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _jittered_predictions(cat, ds_id):
    rng = random.Random(3)
    preds = {}
    for it in cat.list_items(ds_id, subset="test"):
        boxes = [a for a in cat.list_annotations(item_ids=[it.id], ground_truth=True) if a.type == "box"]
        out = []
        for a in boxes:
            l, t, r, b = a.left, a.top, a.right, a.bottom
            d = rng.uniform(-3, 3)
            label = a.label if rng.random() > 0.15 else rng.choice(["star", "circle", "square"])
            out.append(Annotation("box", label, [l + d, t + d, r + d, b + d], score=round(rng.random(), 4)))
        if rng.random() < 0.3:
            out.append(Annotation("box", "star", [2.0, 2.0, 20.0, 20.0], score=round(rng.random(), 4)))
        preds[it.id] = out
    return preds


def test_results_file_scores_the_same_in_evaluate_coco_and_pycocotools(client, capsys, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat = client.catalog
    ds = cat.get_dataset("shapes-detection")
    model = cat.find_models(name="pretrained-tinydet")[0]
    cat.replace_predictions(model.id, model.name, _jittered_predictions(cat, ds.id), ds.id)
    code, _, err = run(capsys, "export", str(tmp_path / "gt"), "--dataset", "shapes-detection", "--subset", "test")
    assert code == 0, err
    code, out, err = run(capsys, "export", str(tmp_path / "res.json"), "--dataset", "shapes-detection",
                         "--subset", "test", "--results", "pretrained-tinydet")
    assert code == 0 and "res.json" in out, err
    gt_file, dt_file = tmp_path / "gt" / "annotations.json", tmp_path / "res.json"
    code, out, err = run(capsys, "evaluate-coco", "--gt", str(gt_file), "--dt", str(dt_file), "--json")
    assert code == 0, err
    ours = json.loads(out)["stats"]

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        dt = gt.loadRes(str(dt_file))
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ours == pytest.approx(list(ev.stats), abs=1e-9)
    assert 0.1 < ev.stats[0] < 0.9          # a real score, not an empty or perfect match


def test_results_and_predictions_options(client, capsys, tmp_path):
    code, _, err = run(capsys, "export", str(tmp_path / "r.json"), "--dataset", "shapes", "--results",
                       "pretrained-tinydet")
    assert code == 2 and "no scored box" in err and not (tmp_path / "r.json").exists()
    code, _, err = run(capsys, "export", str(tmp_path / "voc"), "--format", "voc", "--dataset", "shapes-detection",
                       "--predictions", "pretrained-tinydet")
    assert code == 2 and "cannot hold predictions" in err and not (tmp_path / "voc").exists()
