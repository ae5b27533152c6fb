from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from desktop_app.evaluation.coco import COCOEvaluator
from desktop_app.ml.callbacks import MetricsRecorder
from desktop_app.ml.hparams import schema_for, validate_config
from desktop_app.ml.metrics import accuracy, detection_map
from desktop_app.ml.models import build_model
from desktop_app.ml.trainer import Trainer, load_datasets


def test_accuracy():
    assert accuracy(np.array([1, 2, 3]), np.array([1, 0, 3])) == pytest.approx(2 / 3)


def test_perfect_and_empty_detections():
    gt = [{"boxes": np.array([[0, 0, 10, 10], [20, 20, 40, 30]]), "labels": np.array([0, 1])}]
    perfect = [{"boxes": gt[0]["boxes"], "scores": np.array([0.9, 0.8]), "labels": gt[0]["labels"]}]
    assert detection_map(perfect, gt, 2) == pytest.approx({"map50": 1.0, "map75": 1.0, "map": 1.0}, abs=1e-12)
    none = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0)}]
    assert detection_map(none, gt, 2)["map50"] == 0.0
    no_truth = [{"boxes": np.zeros((0, 4)), "labels": np.zeros(0)}]
    assert detection_map(perfect, no_truth, 2) == {"map50": 0.0, "map75": 0.0, "map": 0.0}


def _noisy_set(rng, n_images=30, n_classes=3, crowded=()):
    """Per-image ground truth and predictions (l,t,r,b); images in `crowded` get 150 extra detections."""
    preds, gts = [], []
    for i in range(n_images):
        n = rng.integers(1, 5)
        xy = rng.uniform(0, 80, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(8, 40, (n, 2))], 1)
        labels = rng.integers(0, n_classes, n)
        n_extra = 150 if i in crowded else 2
        extra = rng.uniform(0, 100, (n_extra, 2))
        pb = np.concatenate([boxes + rng.normal(0, 3, boxes.shape), np.concatenate([extra, extra + 15], 1)])
        pl = np.concatenate([labels, rng.integers(0, n_classes, n_extra)])
        gts.append({"boxes": boxes, "labels": labels})
        preds.append({"boxes": pb, "scores": rng.uniform(0.1, 1, len(pb)), "labels": pl})
    return preds, gts


def _coco_lists(preds, gts, n_classes):
    """The same boxes as COCO dataset lists (x,y,w,h)."""
    images, anns, dets = [], [], []
    for i, (p, g) in enumerate(zip(preds, gts)):
        images.append({"id": i, "width": 128, "height": 128})
        for b, c in zip(np.asarray(g["boxes"], float), g["labels"]):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": int(c), "iscrowd": 0,
                         "bbox": [b[0], b[1], w, h], "area": w * h})
        for b, c, s in zip(np.asarray(p["boxes"], float), p["labels"], p["scores"]):
            dets.append({"image_id": i, "category_id": int(c), "score": float(s),
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    return images, [{"id": k} for k in range(n_classes)], anns, dets


def _core_figures(preds, gts, n_classes):
    stats = COCOEvaluator("bbox").evaluate_dicts(*_coco_lists(preds, gts, n_classes)).stats_dict
    return {"map": stats["AP"], "map50": stats["AP50"], "map75": stats["AP75"]}


def test_the_evaluation_cores_figures_exactly():
    # image 3 holds 150 extra detections over 3 classes: COCO keeps 100 per image *and class*
    preds, gts = _noisy_set(np.random.default_rng(0), crowded=(3,))
    assert detection_map(preds, gts, 3) == _core_figures(preds, gts, 3)


def test_equals_pycocotools():
    coco_mod = pytest.importorskip("pycocotools.coco")
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    preds, gts = _noisy_set(np.random.default_rng(1), crowded=(5,))
    images, categories, anns, dets = _coco_lists(preds, gts, 3)
    coco = coco_mod.COCO()
    coco.dataset = {"images": images, "annotations": anns, "categories": categories}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        ev = cocoeval.COCOeval(coco, coco.loadRes(dets), "bbox")
        ev.evaluate(), ev.accumulate(), ev.summarize()
    ours = detection_map(preds, gts, 3)
    assert (ours["map"], ours["map50"], ours["map75"]) == tuple(ev.stats[:3])


def test_the_trainers_validation_figures_are_the_evaluation_cores(det_layout, tmp_path):
    """The trainer's val_map / val_map50 / val_map75 equal the evaluation core's on the same predictions."""
    config = validate_config(schema_for("detection", "tinydet"), {
        "arch": "tinydet", "image_size": 64, "batch_size": 8, "epochs": 2, "pretrained": False,
        "num_workers": 0, "device": "cpu", "early_stopping_patience": 0})
    labels, train_set, val_set = load_datasets("detection", det_layout, config, 0)
    model, _ = build_model("tinydet", len(labels), image_size=64, pretrained=False)
    rng = np.random.default_rng(2)
    seen: list[tuple[list, list]] = []   # (predictions, targets) of each validation pass
    real_evaluate = model.evaluate

    def evaluate(images, targets):
        # the untrained model's own output scores ~0 both ways: validate made-up detections near the truth
        # instead, many per image so that COCO's 100-per-image-and-class rule counts
        loss, _ = real_evaluate(images, targets)
        if not model.training and (not seen or len(seen[-1][0]) >= len(val_set)):
            seen.append(([], []))
        out = []
        for t in targets:
            boxes = t["boxes"].numpy()
            extra = rng.uniform(0, 48, (120, 2))
            out.append({"boxes": torch.tensor(np.concatenate([boxes + rng.normal(0, 2, boxes.shape),
                                                              np.concatenate([extra, extra + 12], 1)])),
                        "scores": torch.tensor(np.concatenate([rng.uniform(0.2, 1, len(boxes)),
                                                               rng.uniform(0.05, 1, 120)])),
                        "labels": torch.cat([t["labels"], torch.tensor(rng.integers(0, len(labels), 120))])})
        seen[-1][0].extend({k: v.float().numpy() for k, v in o.items()} for o in out)
        seen[-1][1].extend({k: v.numpy() for k, v in t.items()} for t in targets)
        return loss, out

    model.evaluate = evaluate
    rec = MetricsRecorder()
    Trainer("detection", config, labels, train_set, val_set, tmp_path, [rec], model=model).fit()
    assert len(rec.metrics) == len(seen) == 2
    for metrics, (preds, gts) in zip(rec.metrics, seen):
        core = _core_figures(preds, gts, len(labels))
        assert core["map50"] > 0.1
        assert {k: metrics[f"val_{k}"] for k in ("map", "map50", "map75")} == core

