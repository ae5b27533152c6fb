"""An evaluation's summary as the lines `desktop-app evaluate` prints: what was scored, then one figure a line."""

from __future__ import annotations

from typing import Any

_HEADINGS = {"segm": "COCO segm (mask IoU): mask AP, per-instance TP / FP / FN by mask",
             "bbox": "COCO bbox", "semantic": "pixels: mIoU, accuracies over labelled pixels",
             "classification": "classification"}
_MASK_KEYS = {"mAP": "mask mAP", "mAP50": "mask mAP50", "mAP75": "mask mAP75", "AR100": "mask AR100"}


def summary_lines(method: str | None, summary: dict[str, Any]) -> list[str]:
    """A heading naming what the figures are (boxes, masks, pixels, classes), then `name: value` lines; a mask
    evaluation's AP is named mask AP, a figure without a value (NaN stored as none) reads n/a."""
    kind = summary.get("iou_type", "bbox") if method == "coco" else method
    out = [f"# {_HEADINGS[kind]}"] if kind in _HEADINGS else []
    names = _MASK_KEYS if kind == "segm" else {}
    for k, v in summary.items():
        if k == "iou_type":
            continue
        name = names.get(k, k)
        if v is None:
            out.append(f"{name:>24}: n/a")
        elif isinstance(v, float):
            out.append(f"{name:>24}: {v:.4f}")
        elif isinstance(v, dict):
            out.append(f"{name:>24}: " + ", ".join(f"{a} {b:.4f}" if isinstance(b, float) else f"{a} {b}"
                                                   for a, b in v.items()))
        else:
            out.append(f"{name:>24}: {v}")
    return out
