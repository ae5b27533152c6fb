"""Box IoU exactly as pycocotools' bbIou computes it, for many (detection, ground truth) pairs at once."""

from __future__ import annotations

import numpy as np

from desktop_app.evaluation._arrays import expand_ranges


def pair_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of row i of dt with row i of gt, boxes x,y,w,h.

    The operations follow maskApi.c step for step (width/height <= 0 means no overlap; a crowd's
    union is the detection's own area) so results match pycocotools to the last bit.
    """
    dx, dy, dw, dh = dt[:, 0], dt[:, 1], dt[:, 2], dt[:, 3]
    gx, gy, gw, gh = gt[:, 0], gt[:, 1], gt[:, 2], gt[:, 3]
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    hit = (w > 0) & (h > 0)
    inter = w * h
    da = dw * dh
    union = np.where(crowd, da, (da + gw * gh) - inter)
    out = np.zeros(dt.shape[0])
    np.divide(inter, union, out=out, where=hit)
    return out


def group_pairs(det_group: np.ndarray, gt_group_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (detection, ground truth) pair sharing a group key; ground truths sorted by key.

    Pairs come out ordered by detection, then by ground-truth position.
    """
    lo = np.searchsorted(gt_group_sorted, det_group, "left")
    hi = np.searchsorted(gt_group_sorted, det_group, "right")
    return expand_ranges(lo, hi)
