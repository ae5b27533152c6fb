"""Semantic segmentation metrics over pixels: a confusion matrix accumulated image by image, mIoU, per-class IoU,
pixel accuracy and mean class accuracy.

Label maps hold class indices 0..num_classes-1; ``ignore_index`` (255) pixels, in the ground truth, are left
out, as mmseg and torchmetrics do. A prediction outside 0..num_classes-1 on a counted pixel is an error.

Absent classes: a class with no ground-truth pixel and no predicted pixel has IoU NaN (0 / 0) and accuracy NaN;
NaN classes are left out of the means (mmseg's ``nanmean``, torchmetrics' ``JaccardIndex`` leaving out absent
classes). A class predicted but never in the ground truth has IoU 0 (it counts) and accuracy NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from desktop_app.errors import ValidationError

IGNORE_INDEX = 255


def confusion(gt: np.ndarray, pred: np.ndarray, num_classes: int, *, ignore_index: int | None = IGNORE_INDEX,
              where: str = "image") -> np.ndarray:
    """The (num_classes, num_classes) int64 pixel confusion matrix of one image: rows ground truth, columns
    prediction. One bincount over int64 pairs (gt * n + pred)."""
    g = np.asarray(gt)
    p = np.asarray(pred)
    if g.shape != p.shape:
        raise ValidationError(f"{where}: prediction is {p.shape} but the ground truth is {g.shape}")
    g = g.reshape(-1).astype(np.int64, copy=False)
    p = p.reshape(-1).astype(np.int64, copy=False)
    keep = g != ignore_index if ignore_index is not None else np.ones(g.shape, bool)
    g, p = g[keep], p[keep]
    for arr, what in ((g, "ground truth"), (p, "prediction")):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            bad = arr[(arr < 0) | (arr >= num_classes)][0]
            raise ValidationError(f"{where}: {what} holds class index {int(bad)}, outside 0..{num_classes - 1}"
                                  + (f" (and not the ignore index {ignore_index})" if what == "ground truth" else ""))
    return np.bincount(g * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


@dataclass
class SemanticResult:
    """What `scores` gives: the summed confusion matrix and the metrics read from it."""
    labels: list[str]
    matrix: np.ndarray              # (n, n) int64, rows ground truth, columns prediction
    iou: np.ndarray                 # per class; NaN for a class absent from both
    accuracy: np.ndarray            # per class recall (TP / ground-truth pixels); NaN with no ground truth
    miou: float
    pixel_accuracy: float
    mean_accuracy: float

    def per_class(self) -> dict[str, dict[str, float]]:
        return {lab: {"iou": float(self.iou[i]), "accuracy": float(self.accuracy[i]),
                      "pixels": int(self.matrix[i].sum())} for i, lab in enumerate(self.labels)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None."""
        def clean(v: float) -> float | None:
            return None if v != v else float(v)

        return {"miou": clean(self.miou), "pixel_accuracy": clean(self.pixel_accuracy),
                "mean_accuracy": clean(self.mean_accuracy),
                "per_class": {lab: {k: (clean(v) if k != "pixels" else v) for k, v in d.items()}
                              for lab, d in self.per_class().items()},
                "labels": list(self.labels), "confusion": self.matrix.tolist()}


def _nanmean(v: np.ndarray) -> float:
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def scores(matrix: np.ndarray, labels: list[str] | None = None) -> SemanticResult:
    """The metrics of a confusion matrix (rows ground truth, columns prediction)."""
    m = np.asarray(matrix, dtype=np.int64)
    n = m.shape[0]
    tp = np.diag(m).astype(np.float64)
    gt = m.sum(axis=1).astype(np.float64)
    pr = m.sum(axis=0).astype(np.float64)
    union = gt + pr - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        acc = np.where(gt > 0, tp / gt, np.nan)
    total = m.sum()
    return SemanticResult(labels=list(labels) if labels is not None else [str(i) for i in range(n)], matrix=m,
                          iou=iou, accuracy=acc, miou=_nanmean(iou),
                          pixel_accuracy=float(tp.sum() / total) if total else float("nan"),
                          mean_accuracy=_nanmean(acc))


class SemanticAccumulator:
    """Add (ground truth, prediction) label maps image by image; `result()` at any time."""

    def __init__(self, num_classes: int, labels: list[str] | None = None, *,
                 ignore_index: int | None = IGNORE_INDEX):
        if num_classes < 1:
            raise ValidationError(f"num_classes must be at least 1, got {num_classes}")
        if labels is not None and len(labels) != num_classes:
            raise ValidationError(f"{len(labels)} labels for {num_classes} classes")
        self.num_classes, self.labels, self.ignore_index = num_classes, labels, ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
        self.images = 0

    def add(self, gt: np.ndarray, pred: np.ndarray, *, where: str | None = None) -> None:
        self.matrix += confusion(gt, pred, self.num_classes, ignore_index=self.ignore_index,
                                 where=where or f"image {self.images}")
        self.images += 1

    def result(self) -> SemanticResult:
        return scores(self.matrix, self.labels)


def evaluate(pairs: Any, num_classes: int, labels: list[str] | None = None, *,
             ignore_index: int | None = IGNORE_INDEX) -> SemanticResult:
    """Metrics over an iterable of (ground truth, prediction) label maps."""
    acc = SemanticAccumulator(num_classes, labels, ignore_index=ignore_index)
    for gt, pred in pairs:
        acc.add(gt, pred)
    return acc.result()
