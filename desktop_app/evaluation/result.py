"""The result of a COCO evaluation: pycocotools' tables, the 12 summary stats, per-class AP, exports."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
AREA_LABELS = ("all", "small", "medium", "large")
# (ap?, iou threshold, area label, maxDets index) for each stat, as pycocotools' _summarizeDets
_STATS = ((1, None, "all", 2), (1, 0.5, "all", 2), (1, 0.75, "all", 2), (1, None, "small", 2),
          (1, None, "medium", 2), (1, None, "large", 2), (0, None, "all", 0), (0, None, "all", 1),
          (0, None, "all", 2), (0, None, "small", 2), (0, None, "medium", 2), (0, None, "large", 2))


def _mean_valid(s: np.ndarray) -> float:
    valid = s[s > -1]
    return -1.0 if valid.shape[0] == 0 else float(np.mean(valid))


@dataclass(eq=False)
class COCOResult:
    """Tables are indexed like pycocotools' eval: precision [T,R,K,A,M], recall [T,K,A,M]; K in category-id order."""

    iou_type: str
    category_ids: np.ndarray
    iou_thresholds: np.ndarray
    recall_thresholds: np.ndarray
    max_dets: tuple
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    n_images: int = 0
    n_ground_truth: int = 0
    n_detections: int = 0
    warnings: list = field(default_factory=list)
    category_names: dict = field(default_factory=dict)
    _matches: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.stats = np.array([self._summarize(*spec) for spec in _STATS])

    def _summarize(self, ap: int, iou_thr, area: str, m: int) -> float:
        # same indexing as pycocotools so the mean sums the same values in the same order
        aind = [AREA_LABELS.index(area)]
        mind = [m]
        s = self.precision if ap == 1 else self.recall
        if iou_thr is not None:
            s = s[np.where(iou_thr == self.iou_thresholds)[0]]
        s = s[:, :, :, aind, mind] if ap == 1 else s[:, :, aind, mind]
        return _mean_valid(s)

    @property
    def stats_dict(self) -> dict:
        return dict(zip(STAT_NAMES, self.stats.tolist()))

    def _class_ap(self, t: slice | int) -> dict:
        out = {}
        for k, cid in enumerate(self.category_ids.tolist()):
            out[cid] = _mean_valid(self.precision[t, :, k, 0, -1])
        return out

    @property
    def per_class_ap(self) -> dict:
        """{category id: AP@[.5:.95], area all, maxDets 100}; -1 for a class without ground truth."""
        return self._class_ap(slice(None))

    @property
    def per_class_ap50(self) -> dict:
        return self._class_ap(0)

    @property
    def per_class_ap75(self) -> dict:
        return self._class_ap(int(np.argmin(np.abs(self.iou_thresholds - 0.75))))

    def pr_curve(self, category_id, iou: float = 0.5) -> dict:
        """101-point interpolated precision-recall curve (area all, maxDets 100) and the score at each point."""
        k = int(np.flatnonzero(self.category_ids == category_id)[0])
        t = int(np.argmin(np.abs(self.iou_thresholds - iou)))
        return {"recall": self.recall_thresholds.copy(), "precision": self.precision[t, :, k, 0, -1].copy(),
                "score": self.scores[t, :, k, 0, -1].copy()}

    def pr_curves(self, ious=(0.5, 0.75)) -> dict:
        """{iou: {category id: curve}} for every class."""
        return {iou: {cid: self.pr_curve(cid, iou) for cid in self.category_ids.tolist()} for iou in ious}

    def matches(self, iou: float = 0.5) -> dict:
        """COCO's own matching at one IoU threshold (area all, maxDets 100), per input detection / ground truth.

        dt_match: matched ground-truth id or -1; dt_iou: IoU or NaN; gt_match: matched detection id
        (the highest-scoring one, for a crowd) or -1.
        """
        mt = self._matches
        t = int(np.argmin(np.abs(self.iou_thresholds - iou)))
        p = mt["pairs"]
        sel = p["t"] == t
        det = mt["det_src"][p["b"][sel]]
        gts = mt["gt_src"][p["g"][sel]]
        dt_match = np.full(mt["n_dt"], -1, np.int64)
        dt_iou = np.full(mt["n_dt"], np.nan)
        dt_match[det] = mt["gt_ids"][gts]
        dt_iou[det] = p["iou"][sel]
        gt_match = np.full(mt["n_gt"], -1, np.int64)
        # matches run in score order, so a crowd's first occurrence is its highest-scoring detection
        gts_u, first = np.unique(gts, return_index=True)
        gt_match[gts_u] = mt["dt_ids"][det[first]]
        return {"dt_match": dt_match, "dt_iou": dt_iou, "gt_match": gt_match}

    # -- export ---------------------------------------------------------------------------
    def to_dict(self, *, curves: bool = True) -> dict:
        names = self.category_names
        out = {
            "iou_type": self.iou_type,
            "stat_names": list(STAT_NAMES),
            "stats": self.stats.tolist(),
            "per_class": [
                {"category_id": cid, "name": names.get(cid), "ap": ap, "ap50": ap50, "ap75": ap75}
                for (cid, ap), ap50, ap75 in zip(self.per_class_ap.items(), self.per_class_ap50.values(),
                                                 self.per_class_ap75.values())
            ],
            "counts": {"images": self.n_images, "ground_truth": self.n_ground_truth, "detections": self.n_detections},
            "warnings": list(self.warnings),
        }
        if curves:
            out["pr_curves"] = {
                f"{iou:.2f}": {str(cid): {k: v.tolist() for k, v in c.items()} for cid, c in per.items()}
                for iou, per in self.pr_curves().items()
            }
        return out

    def to_json(self, *, curves: bool = True, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(curves=curves), indent=indent)

    def to_csv(self) -> str:
        """One row per stat, then one row per class (AP, AP50, AP75)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["scope", "category_id", "name", "metric", "value"])
        for name, value in zip(STAT_NAMES, self.stats.tolist()):
            w.writerow(["overall", "", "", name, repr(value)])
        for row in self.to_dict(curves=False)["per_class"]:
            for metric in ("ap", "ap50", "ap75"):
                w.writerow(["class", row["category_id"], row["name"] or "", metric.upper(), repr(row[metric])])
        return buf.getvalue()
