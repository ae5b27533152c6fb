"""COCO detection metrics, the pycocotools protocol bit for bit, from columnar inputs (no per-detection loop)."""

from __future__ import annotations

import numpy as np

from desktop_app.errors import ValidationError
from desktop_app.evaluation._arrays import rank_in_segment, stable_argsort_int
from desktop_app.evaluation.accumulate import accumulate
from desktop_app.evaluation.boxes import group_pairs, pair_iou
from desktop_app.evaluation.greedy import greedy_match
from desktop_app.evaluation.inputs import Detections, GroundTruth
from desktop_app.evaluation.result import AREA_LABELS, STAT_NAMES, COCOResult

__all__ = ["AREA_LABELS", "AREA_RANGES", "COCOEvaluator", "COCOResult", "IOU_THRESHOLDS", "MAX_DETS",
           "RECALL_THRESHOLDS", "STAT_NAMES", "auto_iou_type", "evaluate_coco"]

# the exact constants of pycocotools' Params.setDetParams (linspace, not arange, for the same floats)
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = (1, 10, 100)
AREA_RANGES = ((0**2, 1e5**2), (0**2, 32**2), (32**2, 96**2), (96**2, 1e5**2))


def auto_iou_type(gt: GroundTruth, dt: Detections) -> str:
    """'segm' when every ground truth and every detection has a mask or polygon, else 'bbox'."""
    def full(segs):
        return segs is not None and all(s is not None and len(s) for s in segs)

    return "segm" if len(gt) and len(dt) and full(gt.segmentation) and full(dt.segmentation) else "bbox"


def evaluate_coco(gt: GroundTruth, dt: Detections, iou_type: str = "bbox") -> COCOResult:
    """COCO metrics for columnar ground truth and detections."""
    return COCOEvaluator(iou_type).evaluate(gt, dt)


class COCOEvaluator:
    """Evaluates detections against ground truth the way pycocotools' COCOeval (bbox or segm) does."""

    def __init__(self, iou_type: str = "bbox"):
        if iou_type not in ("bbox", "segm"):
            raise ValidationError(f"iou_type must be 'bbox' or 'segm', not {iou_type!r}")
        self.iou_type = iou_type
        self.iou_thresholds = IOU_THRESHOLDS
        self.recall_thresholds = RECALL_THRESHOLDS
        self.max_dets = MAX_DETS
        self.area_ranges = AREA_RANGES

    def evaluate_dicts(self, images: list, categories: list, annotations: list, results: list) -> COCOResult:
        """Convenience: COCO dataset lists + a results list."""
        gt = GroundTruth.from_coco(images, categories, annotations, need_segmentation=self.iou_type == "segm")
        return self.evaluate(gt, Detections.from_coco(results, gt, iou_type=self.iou_type))

    def evaluate(self, gt: GroundTruth, dt: Detections, *, iou_fn=None) -> COCOResult:
        """`iou_fn(d, g, crowd) -> iou` (detection / ground-truth indexes) replaces the IoU computed here, as in
        matching.InstanceMatcher (mask IoUs computed once for both)."""
        n_img, n_cat = gt.image_ids.shape[0], gt.category_ids.shape[0]
        dt.check_images(n_img)
        if self.iou_type == "segm" and iou_fn is None and (gt.segmentation is None or dt.segmentation is None):
            raise ValidationError("segm evaluation needs segmentations on both sides")
        det = _order_detections(gt, dt, self.max_dets[-1])
        g = _order_ground_truth(gt)
        pairs = self._candidate_pairs(gt, dt, det, g, iou_fn)
        matches = _match_all(det, g, pairs, self.iou_thresholds, self.area_ranges)
        tables = accumulate(det, g, matches, n_cat, self.iou_thresholds, self.recall_thresholds,
                            self.area_ranges, self.max_dets)
        warnings = []
        for name, dropped in (("ground-truth annotations", gt.dropped), ("detections", dt.dropped)):
            for why, count in dropped.items():
                if count:
                    warnings.append(f"{count} {name} ignored: {why.replace('_', ' ')}")
        order = np.argsort(gt.category_ids, kind="stable")
        return COCOResult(
            iou_type=self.iou_type,
            category_ids=gt.category_ids[order],
            iou_thresholds=self.iou_thresholds,
            recall_thresholds=self.recall_thresholds,
            max_dets=self.max_dets,
            precision=tables["precision"],
            recall=tables["recall"],
            scores=tables["scores"],
            n_images=n_img,
            n_ground_truth=len(gt),
            n_detections=len(dt),
            warnings=warnings,
            _matches={"det_src": det["src"], "gt_src": g["src"], "dt_ids": dt.ids, "gt_ids": gt.ids,
                      "pairs": matches["a0"], "n_dt": len(dt), "n_gt": len(gt), "crowd": g["crowd"]},
        )

    def _candidate_pairs(self, gt: GroundTruth, dt: Detections, det: dict, g: dict, iou_fn=None) -> dict:
        """(detection, ground truth) pairs in one image and category with IoU >= the lowest threshold."""
        a_key = det["group"][det["a_of_b"]]
        pa, pg = group_pairs(a_key, g["group"])
        pb = det["a_of_b"][pa]
        crowd = g["crowd"][pg]
        if iou_fn is not None:
            iou = np.asarray(iou_fn(det["src"][pb], g["src"][pg], crowd), np.float64).reshape(pb.shape[0])
        elif self.iou_type == "bbox":
            iou = pair_iou(dt.boxes[det["src"][pb]], gt.boxes[g["src"][pg]], crowd)
        else:
            from desktop_app.evaluation import masks

            iou = masks.pair_iou(dt.segmentation, gt.segmentation, det["src"][pb], g["src"][pg], crowd,
                                 gt.image_sizes, gt.image_idx, dt.image_idx)
        keep = iou >= min(self.iou_thresholds[0], 1 - 1e-10)
        return {"b": pb[keep], "g": pg[keep], "iou": iou[keep]}


def _order_detections(gt: GroundTruth, dt: Detections, max_det: int) -> dict:
    """Detections of known categories in accumulate order: category, score desc, image, input order.

    pycocotools concatenates images in sorted-id order and then mergesorts by score, so ties fall back
    to image order and then to the order of the results file; within one image and category it keeps
    the `max_det` best (stable again).
    """
    n_img, n_cat = gt.image_ids.shape[0], gt.category_ids.shape[0]
    img_rank = _ranks(gt.image_ids)
    cat_rank = _ranks(gt.category_ids)
    src = np.flatnonzero(dt.cat_idx >= 0)
    img = img_rank[dt.image_idx[src]]
    cat = cat_rank[dt.cat_idx[src]]
    o = stable_argsort_int(img, n_img)
    o = o[np.argsort(-dt.scores[src[o]], kind="stable")]
    o = o[stable_argsort_int(cat[o], n_cat)]
    src, img, cat = src[o], img[o], cat[o]
    group = cat * n_img + img
    a_of_b = stable_argsort_int(group, n_cat * n_img)
    rank = np.empty(src.shape[0], np.int64)
    rank[a_of_b] = rank_in_segment(group[a_of_b])
    keep = rank < max_det
    if not keep.all():
        new_pos = np.cumsum(keep) - 1
        a_of_b = new_pos[a_of_b[keep[a_of_b]]]
        src, img, cat, group, rank = src[keep], img[keep], cat[keep], group[keep], rank[keep]
    return {"src": src, "cat": cat, "img": img, "group": group, "a_of_b": a_of_b, "rank": rank,
            "area": dt.area[src], "score": dt.scores[src]}


def _order_ground_truth(gt: GroundTruth) -> dict:
    """Ground truth grouped by (category, image), input order kept inside a group."""
    n_img = gt.image_ids.shape[0]
    img = _ranks(gt.image_ids)[gt.image_idx]
    cat = _ranks(gt.category_ids)[gt.cat_idx]
    group = cat * n_img + img
    o = stable_argsort_int(group, gt.category_ids.shape[0] * n_img)
    return {"src": o, "cat": cat[o], "group": group[o], "area": gt.area[o], "crowd": gt.iscrowd[o],
            "zero_id": gt.ids[o] == 0}


def _ranks(ids: np.ndarray) -> np.ndarray:
    rank = np.empty(ids.shape[0], np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(ids.shape[0])
    return rank


def _match_all(det: dict, g: dict, pairs: dict, thresholds: np.ndarray, area_ranges) -> dict:
    """Greedy matching for every (IoU threshold, area range) at once.

    Each combination is its own copy of the candidate pairs, keyed apart, so one greedy run serves
    all of them. Within a detection the preferred ground truth is: not ignored, then highest IoU, then
    the later one in input order - pycocotools' loop order (ignored last, `>=` keeps the later tie).
    """
    n_det, n_gt = det["src"].shape[0], g["src"].shape[0]
    n_area = len(area_ranges)
    b, gi, iou = pairs["b"], pairs["g"], pairs["iou"]
    _, iou_rank = np.unique(iou, return_inverse=True)
    o = np.argsort(b * (int(iou_rank.max(initial=0)) + 1) + iou_rank, kind="stable")
    b, gi, iou = b[o], gi[o], iou[o]
    ignored = [g["crowd"] | (g["area"] < lo) | (g["area"] > hi) for lo, hi in area_ranges]
    per_area = []
    for ig in ignored:
        o = stable_argsort_int(b * 2 + ~ig[gi], 2 * n_det)
        per_area.append((b[o], gi[o], iou[o]))
    dk, gk, reuse, piou = [], [], [], []
    for t, thr in enumerate(thresholds):
        thr = min(thr, 1 - 1e-10)
        for a in range(n_area):
            pb, pg, pi = per_area[a]
            sel = pi >= thr
            c = t * n_area + a
            dk.append(pb[sel] + c * n_det)
            gk.append(pg[sel] + c * n_gt)
            reuse.append(g["crowd"][pg[sel]])
            piou.append(pi[sel])
    dk, gk, reuse, piou = (np.concatenate(x) for x in (dk, gk, reuse, piou))
    chosen = greedy_match(dk, gk, reuse, len(thresholds) * n_area * max(n_gt, 1))
    combo, mb = np.divmod(dk[chosen], max(n_det, 1))
    mg = gk[chosen] - combo * n_gt
    area_idx = combo % n_area
    gt_ignored = np.stack(ignored)[area_idx, mg] if n_gt else np.zeros(0, bool)
    # pycocotools stores the matched gt id and reads 0 as "unmatched": a match to an id-0 gt counts as none
    keep = ~(g["zero_id"][mg] & ~gt_ignored)
    a0 = area_idx == 0
    return {
        "combo": combo[keep], "b": mb[keep], "g": mg[keep], "gt_ignored": gt_ignored[keep],
        "ignored": ignored,
        "a0": {"t": combo[a0] // n_area, "b": mb[a0], "g": mg[a0], "iou": piou[chosen][a0]},
    }
