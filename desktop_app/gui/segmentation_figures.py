"""How the GUI names an evaluation's figures by what it scores: boxes, instance masks (COCO segm: mask AP, mask
IoU), pixels (semantic: mIoU, pixel accuracy) or class labels. Plain data, no Qt: the evaluation and compare
pages and the leaderboard read it."""

from __future__ import annotations

from typing import Any, Mapping

# Instance masks: the same figures as boxes, named for masks.
MASK_TITLES = {"mAP": "mask mAP", "mAP50": "mask AP50", "mAP75": "mask AP75", "AR100": "mask AR100",
               "AP": "mask AP", "AP50": "mask AP50"}
# Semantic segmentation: figures over pixels, in the order shown.
SEMANTIC_STATS = ("miou", "miou_foreground", "pixel_accuracy", "mean_accuracy")
SEMANTIC_CLASS_METRICS = ("iou", "accuracy")
SEMANTIC_TITLES = {"miou": "mIoU", "miou_foreground": "mIoU without background", "pixel_accuracy": "pixel accuracy",
                   "mean_accuracy": "mean class accuracy", "iou": "IoU", "accuracy": "accuracy", "pixels": "pixels"}
KIND_WORDS = {"boxes": "detection (COCO)", "masks": "instance segmentation (COCO masks)",
              "semantic": "semantic segmentation (pixels)", "classification": "classification"}


def evaluation_kind(method: str, results: Mapping[str, Any]) -> str:
    """'boxes', 'masks' (COCO segm), 'semantic' or 'classification': what an evaluation scores."""
    if method == "coco":
        segm = results.get("iou_type") == "segm" or (results.get("summary") or {}).get("iou_type") == "segm"
        return "masks" if segm else "boxes"
    return method


def figure_title(kind: str, key: str) -> str:
    """The name a figure gets on screen for that kind of evaluation ('mask AP50', 'mIoU', else the key)."""
    titles = MASK_TITLES if kind == "masks" else SEMANTIC_TITLES if kind == "semantic" else {}
    return titles.get(key, key)
