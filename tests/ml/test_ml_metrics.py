from __future__ import annotations

import numpy as np
import pytest

from desktop_app.ml.metrics import accuracy, detection_map


def test_accuracy():
    assert accuracy(np.array([1, 2, 3]), np.array([1, 0, 3])) == pytest.approx(2 / 3)


def test_perfect_and_empty_detections():
    gt = [{"boxes": np.array([[0, 0, 10, 10], [20, 20, 40, 30]]), "labels": np.array([0, 1])}]
    perfect = [{"boxes": gt[0]["boxes"], "scores": np.array([0.9, 0.8]), "labels": gt[0]["labels"]}]
    assert detection_map(perfect, gt, 2) == {"map50": 1.0, "map75": 1.0, "map": 1.0}
    none = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0)}]
    assert detection_map(none, gt, 2)["map50"] == 0.0


def test_close_to_pycocotools():
    coco_mod = pytest.importorskip("pycocotools.coco")
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    rng = np.random.default_rng(0)
    preds, gts, images, anns, dets = [], [], [], [], []
    for i in range(30):
        n = rng.integers(1, 5)
        xy = rng.uniform(0, 80, (n, 2))
        wh = rng.uniform(8, 40, (n, 2))
        boxes = np.concatenate([xy, xy + wh], 1)
        labels = rng.integers(0, 3, n)
        noisy = boxes + rng.normal(0, 3, boxes.shape)
        extra = rng.uniform(0, 100, (2, 2))
        pb = np.concatenate([noisy, np.concatenate([extra, extra + 15], 1)])
        pl = np.concatenate([labels, rng.integers(0, 3, 2)])
        ps = rng.uniform(0.1, 1, len(pb))
        gts.append({"boxes": boxes, "labels": labels})
        preds.append({"boxes": pb, "scores": ps, "labels": pl})
        images.append({"id": i, "width": 128, "height": 128})
        for b, c in zip(boxes, labels):
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": int(c), "iscrowd": 0,
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "area": (b[2] - b[0]) * (b[3] - b[1])})
        for b, c, s in zip(pb, pl, ps):
            dets.append({"image_id": i, "category_id": int(c), "score": float(s),
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    coco = coco_mod.COCO()
    coco.dataset = {"images": images, "annotations": anns, "categories": [{"id": k} for k in range(3)]}
    coco.createIndex()
    ev = cocoeval.COCOeval(coco, coco.loadRes(dets), "bbox")
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate(); ev.accumulate(); ev.summarize()
    ours = detection_map(preds, gts, 3)
    assert ours["map"] == pytest.approx(ev.stats[0], abs=0.01)
    assert ours["map50"] == pytest.approx(ev.stats[1], abs=0.01)
