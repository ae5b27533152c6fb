"""Small validation metrics for the training loop (numpy only): accuracy and COCO-style box mAP.

The box mAP follows COCO's recipe (greedy matching by score, 101-point interpolated precision, IoU
0.50:0.05:0.95, up to 100 detections per image, all areas) closely enough to pick the best epoch; the
exact COCO numbers for reports come from `desktop_app.evaluation`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    pred, target = np.asarray(pred), np.asarray(target)
    return float((pred == target).mean()) if target.size else 0.0


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of [N,4] x [M,4] boxes in [l, t, r, b]."""
    if a.size == 0 or b.size == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def detection_map(
    predictions: Sequence[dict[str, np.ndarray]],
    targets: Sequence[dict[str, np.ndarray]],
    num_classes: int,
    max_detections: int = 100,
) -> dict[str, float]:
    """{'map50', 'map75', 'map'} over images; each dict has boxes [N,4], labels [N] (+ scores [N] for preds).

    Classes with no ground truth are left out of the mean (as COCO does); no ground truth at all gives 0.
    """
    n_thr = len(IOU_THRESHOLDS)
    # per class: list of (score, matched-at-threshold bool[n_thr]) and the ground-truth count
    scores: list[list[np.ndarray]] = [[] for _ in range(num_classes)]
    matches: list[list[np.ndarray]] = [[] for _ in range(num_classes)]
    n_gt = np.zeros(num_classes, dtype=np.int64)
    for pred, gt in zip(predictions, targets):
        p_boxes = np.asarray(pred["boxes"], np.float64).reshape(-1, 4)
        p_scores = np.asarray(pred["scores"], np.float64).reshape(-1)
        p_labels = np.asarray(pred["labels"], np.int64).reshape(-1)
        if len(p_scores) > max_detections:
            keep = np.argsort(-p_scores, kind="stable")[:max_detections]
            p_boxes, p_scores, p_labels = p_boxes[keep], p_scores[keep], p_labels[keep]
        g_boxes = np.asarray(gt["boxes"], np.float64).reshape(-1, 4)
        g_labels = np.asarray(gt["labels"], np.int64).reshape(-1)
        for c in np.union1d(np.unique(p_labels), np.unique(g_labels)):
            if not 0 <= c < num_classes:
                continue
            pc = p_labels == c
            gc = g_labels == c
            n_gt[c] += int(gc.sum())
            if not pc.any():
                continue
            order = np.argsort(-p_scores[pc], kind="stable")
            boxes = p_boxes[pc][order]
            ious = box_iou(boxes, g_boxes[gc])
            matched = np.zeros((len(boxes), n_thr), dtype=bool)
            for t, thr in enumerate(IOU_THRESHOLDS):
                taken = np.zeros(ious.shape[1], dtype=bool)
                for d in range(len(boxes)):
                    if ious.shape[1] == 0:
                        break
                    cand = np.where(taken, -1.0, ious[d])
                    j = int(cand.argmax())
                    if cand[j] >= thr:
                        taken[j] = True
                        matched[d, t] = True
            scores[c].append(p_scores[pc][order])
            matches[c].append(matched)
    aps = np.full((num_classes, n_thr), np.nan)
    for c in range(num_classes):
        if n_gt[c] == 0:
            continue
        if not scores[c]:
            aps[c] = 0.0
            continue
        s = np.concatenate(scores[c])
        m = np.concatenate(matches[c])
        order = np.argsort(-s, kind="mergesort")
        m = m[order]
        tp = np.cumsum(m, axis=0)
        fp = np.cumsum(~m, axis=0)
        recall = tp / n_gt[c]
        precision = tp / np.maximum(tp + fp, 1e-12)
        for t in range(n_thr):
            prec = np.maximum.accumulate(precision[::-1, t])[::-1]   # monotone envelope
            idx = np.searchsorted(recall[:, t], _RECALL_POINTS, side="left")
            q = np.where(idx < len(prec), prec[np.minimum(idx, len(prec) - 1)], 0.0)
            aps[c, t] = q.mean()
    if np.all(np.isnan(aps)):
        return {"map50": 0.0, "map75": 0.0, "map": 0.0}
    return {
        "map50": float(np.nanmean(aps[:, 0])),
        "map75": float(np.nanmean(aps[:, 5])),
        "map": float(np.nanmean(aps)),
    }
