"""Validation metrics for the training loop: accuracy, box and mask mAP scored by the exact COCO core of
`evaluation`, and semantic mIoU / pixel accuracy from `evaluation.semantic`."""

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


def mask_rles(masks_: np.ndarray, threshold: float = 0.5) -> list[dict]:
    """COCO RLE of each of [N, H, W] masks (probabilities or 0 / 1) at `threshold`."""
    from desktop_app.domain.masks import encode

    return [encode(np.asarray(m) >= threshold) for m in masks_]


def instance_map(
    predictions: Sequence[dict],
    targets: Sequence[dict],
    num_classes: int,
    image_size: tuple[int, int],
) -> dict[str, float]:
    """{'mask_map50', 'mask_map', 'map50'}: COCO segm AP50 and AP, and box AP50, of one validation pass.

    One dict per image: 'boxes' [N,4] l,t,r,b, 'labels' [N], 'rles' (COCO RLE of each mask at `image_size`
    (h, w)), + 'scores' [N] for predictions. Scored by `evaluation.coco.evaluate_coco` (segm and bbox); 0 where
    COCO's value is undefined (-1: no ground truth at all)."""
    h, w = image_size
    gt_img, gt_cat, gt_boxes = _columns(targets, num_classes)
    gt_rles = [r for t in targets for r, k in zip(t["rles"], _known(t, num_classes)) if k]
    dt_img, dt_cat, dt_boxes = _columns(predictions, num_classes)
    dt_rles = [r for p in predictions for r, k in zip(p["rles"], _known(p, num_classes)) if k]
    scores = np.concatenate([np.asarray(p["scores"], np.float64).reshape(-1)[_known(p, num_classes)]
                             for p in predictions]) if predictions else np.zeros(0)
    images, cats = np.arange(len(targets)), np.arange(num_classes)
    sizes = np.tile(np.array([[h, w]], np.int64), (len(targets), 1))
    segm = evaluate_coco(
        GroundTruth(images, cats, gt_img, gt_cat, gt_boxes, area=_areas(gt_rles), segmentation=gt_rles,
                    image_sizes=sizes),
        Detections(dt_img, dt_cat, dt_boxes, scores, area=_areas(dt_rles), segmentation=dt_rles),
        iou_type="segm").stats_dict
    bbox = evaluate_coco(GroundTruth(images, cats, gt_img, gt_cat, gt_boxes),
                         Detections(dt_img, dt_cat, dt_boxes, scores)).stats_dict
    return {"mask_map50": max(segm["AP50"], 0.0), "mask_map": max(segm["AP"], 0.0),
            "map50": max(bbox["AP50"], 0.0)}


def _areas(rles: list[dict]) -> np.ndarray:
    """COCO's area of a mask: its pixel count."""
    from desktop_app.domain.masks import area

    return np.array([float(area(r)) for r in rles], np.float64)


def semantic_scores(matrix: np.ndarray) -> dict[str, float]:
    """{'miou', 'pixel_accuracy'} of a pixel confusion matrix (evaluation.semantic's; NaN as 0)."""
    from desktop_app.evaluation.semantic import scores

    res = scores(matrix)
    return {"miou": res.miou if res.miou == res.miou else 0.0,
            "pixel_accuracy": res.pixel_accuracy if res.pixel_accuracy == res.pixel_accuracy else 0.0}
