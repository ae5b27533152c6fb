"""Validation metrics for the training loop: accuracy, and box mAP scored by the exact COCO core of `evaluation`."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from desktop_app.evaluation.coco import evaluate_coco
from desktop_app.evaluation.inputs import Detections, GroundTruth


def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    pred, target = np.asarray(pred), np.asarray(target)
    return float((pred == target).mean()) if target.size else 0.0


def detection_map(
    predictions: Sequence[dict[str, np.ndarray]],
    targets: Sequence[dict[str, np.ndarray]],
    num_classes: int,
) -> dict[str, float]:
    """{'map50', 'map75', 'map'}: COCO's AP50, AP75 and AP (all areas, 100 detections) of one validation pass.

    One dict per image: boxes [N,4] in l,t,r,b and labels [N] (+ scores [N] for predictions); labels outside
    range(num_classes) are left out. The numbers are `evaluation.coco.evaluate_coco`'s, the ones an evaluation
    of the model reports; where no image has ground truth (COCO's -1, undefined) they are 0.
    """
    gt = GroundTruth(np.arange(len(targets)), np.arange(num_classes), *_columns(targets, num_classes))
    img, cat, boxes = _columns(predictions, num_classes)
    scores = np.concatenate([np.asarray(p["scores"], np.float64).reshape(-1)[_known(p, num_classes)]
                             for p in predictions]) if predictions else np.zeros(0)
    stats = evaluate_coco(gt, Detections(img, cat, boxes, scores)).stats_dict
    return {"map50": max(stats["AP50"], 0.0), "map75": max(stats["AP75"], 0.0), "map": max(stats["AP"], 0.0)}


def _known(item: dict[str, np.ndarray], num_classes: int) -> np.ndarray:
    labels = np.asarray(item["labels"], np.int64).reshape(-1)
    return (labels >= 0) & (labels < num_classes)


def _columns(items: Sequence[dict[str, np.ndarray]], num_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image index, class index, x,y,w,h boxes) of every box of a known class, image by image."""
    img, cat, boxes = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros((0, 4))]
    for i, item in enumerate(items):
        keep = _known(item, num_classes)
        ltrb = np.asarray(item["boxes"], np.float64).reshape(-1, 4)[keep]
        img.append(np.full(len(ltrb), i, np.int64))
        cat.append(np.asarray(item["labels"], np.int64).reshape(-1)[keep])
        boxes.append(np.column_stack([ltrb[:, :2], ltrb[:, 2:] - ltrb[:, :2]]))
    return np.concatenate(img), np.concatenate(cat), np.concatenate(boxes)
