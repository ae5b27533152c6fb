"""Live thresholds: recompute detection P/R/F1, confusion matrix and per-instance tags without the model."""

from __future__ import annotations

import numpy as np

from desktop_app.evaluation.inputs import Detections, GroundTruth
from desktop_app.evaluation.matching import FP, TP, DetectionMatches, InstanceMatcher


class ThresholdSession:
    """Threshold-dependent detection figures for one (ground truth, predictions) pair.

    Built once from cached raw predictions, it keeps the candidate pairs and their IoUs (and, per IoU
    threshold, the matches with every prediction kept), so moving the confidence slider is a filter
    plus a few bincounts and moving the IoU slider one vectorised greedy pass.
    """

    def __init__(self, gt: GroundTruth, dt: Detections, *, iou_type: str = "bbox", confusion: bool = True,
                 iou_threshold: float = 0.5, score_threshold=0.0, iou_fn=None):
        self.matcher = InstanceMatcher(gt, dt, iou_type=iou_type, confusion=confusion, iou_fn=iou_fn)
        self.iou_threshold = iou_threshold
        self.score_threshold = score_threshold
        self.current: DetectionMatches | None = None

    @classmethod
    def from_coco(cls, images: list, categories: list, annotations: list, results: list, **kwargs):
        gt = GroundTruth.from_coco(images, categories, annotations,
                                   need_segmentation=kwargs.get("iou_type") == "segm")
        return cls(gt, Detections.from_coco(results, gt, iou_type=kwargs.get("iou_type", "bbox")), **kwargs)

    def update(self, *, iou_threshold: float | None = None, score_threshold=None) -> DetectionMatches:
        """Recompute for new thresholds (None keeps the current one). `score_threshold` is a number
        for all classes, a {category id: threshold} dict or an array in category order."""
        if iou_threshold is not None:
            self.iou_threshold = iou_threshold
        if score_threshold is not None:
            self.score_threshold = score_threshold
        self.current = self.matcher.match(self.iou_threshold, self.score_threshold)
        return self.current

    def set_class_threshold(self, category_id, value: float) -> DetectionMatches:
        """Change one class's confidence threshold, keeping the others."""
        thr = dict(zip(self.matcher.gt.category_ids.tolist(), self.matcher.score_thresholds(self.score_threshold)))
        thr[category_id] = value
        return self.update(score_threshold=thr)

    def score_sweep(self, category_id=None) -> dict:
        """Precision, recall and F1 for every confidence threshold at the current IoU threshold.

        Row i holds the figures when keeping predictions scoring >= score[i]; one class or all pooled.
        """
        m = self.matcher
        at_zero = m.match(self.iou_threshold, -np.inf)
        sel = m.known.copy()
        gt_sel = ~m.gt.iscrowd
        if category_id is not None:
            k = int(np.flatnonzero(m.gt.category_ids == category_id)[0])
            sel &= m.dt.cat_idx == k
            gt_sel &= m.gt.cat_idx == k
        tags, scores = at_zero.dt_tag[sel], m.dt.scores[sel]
        order = np.argsort(-scores, kind="stable")
        tags, scores = tags[order], scores[order]
        tp = np.cumsum(tags == TP)
        fp = np.cumsum(tags == FP)
        last = np.append(scores[1:] != scores[:-1], True)  # a threshold keeps all of a tied score
        tp, fp, scores = tp[last], fp[last], scores[last]
        n_gt = int(gt_sel.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
            recall = tp / n_gt if n_gt else np.zeros_like(precision)
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        return {"score": scores, "precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp,
                "fn": n_gt - tp}
