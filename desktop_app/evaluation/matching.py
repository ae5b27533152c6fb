"""Per-instance detection matching at one IoU and confidence threshold: TP/FP/FN tags, counts, confusion matrix."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np

from desktop_app.errors import ValidationError
from desktop_app.evaluation._arrays import stable_argsort_int
from desktop_app.evaluation.boxes import group_pairs, pair_iou
from desktop_app.evaluation.greedy import greedy_match
from desktop_app.evaluation.inputs import Detections, GroundTruth

TAG_NAMES = ("none", "tp", "fp", "fn", "ignored")
NONE, TP, FP, FN, IGNORED = range(5)


@dataclass(eq=False)
class _Pairs:
    """Candidate pairs (IoU > 0) sorted so each detection's preferred ground truth comes last."""

    det: np.ndarray
    gt: np.ndarray
    iou: np.ndarray
    crowd: np.ndarray


class InstanceMatcher:
    """Holds everything about a (ground truth, detections) pair that no threshold changes; `match` is cheap.

    Semantics follow FiftyOne's COCO-style evaluation (fiftyone.utils.eval.coco): predictions in score
    order (ties in input order) take the free ground truth of their class with the highest IoU >= the
    threshold, non-crowd objects before crowds; a crowd absorbs any number of predictions. FiftyOne
    tags a prediction on a crowd "tp"; we tag it "ignored", as COCO does not count it. No area ranges,
    no maxDets. The confusion matrix matches across classes (a crowd still only takes its own class).
    """

    def __init__(self, gt: GroundTruth, dt: Detections, *, iou_type: str = "bbox", confusion: bool = True):
        dt.check_images(gt.image_ids.shape[0])
        if iou_type == "segm" and (gt.segmentation is None or dt.segmentation is None):
            raise ValidationError("segm matching needs segmentations on both sides")
        self.gt, self.dt, self.iou_type = gt, dt, iou_type
        self.n_cat = gt.category_ids.shape[0]
        self.known = dt.cat_idx >= 0
        order = np.argsort(-dt.scores, kind="stable")  # the order the sequential greedy visits
        self.det_rank = np.empty(len(dt), np.int64)
        self.det_rank[order] = np.arange(len(dt))
        self.classwise = self._pairs(by_class=True)
        self.agnostic = self._pairs(by_class=False) if confusion else None
        self._cache: dict = {}

    def _pairs(self, by_class: bool) -> _Pairs:
        gt, dt, K = self.gt, self.dt, self.n_cat
        di = np.flatnonzero(self.known)
        dkey = dt.image_idx[di] * K + dt.cat_idx[di] if by_class else dt.image_idx[di]
        gkey = gt.image_idx * K + gt.cat_idx if by_class else gt.image_idx
        top = gt.image_ids.shape[0] * K
        go = stable_argsort_int(gkey, top)
        do = stable_argsort_int(dkey, top)
        pa, pg = group_pairs(dkey[do], gkey[go])
        d, g = di[do[pa]], go[pg]
        crowd = gt.iscrowd[g]
        if not by_class:  # only a crowd's own class may fall into it
            keep = ~crowd | (dt.cat_idx[d] == gt.cat_idx[g])
            d, g, crowd = d[keep], g[keep], crowd[keep]
        if self.iou_type == "bbox":
            iou = pair_iou(dt.boxes[d], gt.boxes[g], crowd)
        else:
            from desktop_app.evaluation import masks

            iou = masks.pair_iou(dt.segmentation, gt.segmentation, d, g, crowd, gt.image_sizes, gt.image_idx,
                                 dt.image_idx)
        keep = iou > 0
        d, g, iou, crowd = d[keep], g[keep], iou[keep], crowd[keep]
        _, iou_rank = np.unique(iou, return_inverse=True)
        key = (self.det_rank[d] * 2 + ~crowd) * (int(iou_rank.max(initial=0)) + 1) + iou_rank
        o = np.argsort(key, kind="stable")  # stable: equal IoU keeps ground-truth input order
        return _Pairs(d[o], g[o], iou[o], crowd[o])

    def score_thresholds(self, score_threshold) -> np.ndarray:
        """Per-class thresholds (aligned with category_ids) from a number, a {category id: value} dict or an array."""
        if isinstance(score_threshold, dict):
            out = np.zeros(self.n_cat)
            pos = {c: i for i, c in enumerate(self.gt.category_ids.tolist())}
            for cid, value in score_threshold.items():
                if cid not in pos:
                    raise ValidationError(f"score threshold given for unknown category {cid!r}")
                out[pos[cid]] = value
            return out
        arr = np.asarray(score_threshold, np.float64)
        if arr.ndim == 0:
            return np.full(self.n_cat, float(arr))
        if arr.shape != (self.n_cat,):
            raise ValidationError(f"per-class score thresholds need {self.n_cat} values, got {arr.shape[0]}")
        return arr

    def _run(self, p: _Pairs, kept: np.ndarray, iou_threshold: float):
        sel = kept[p.det] & (p.iou >= iou_threshold)
        d, g, iou, crowd = p.det[sel], p.gt[sel], p.iou[sel], p.crowd[sel]
        chosen = greedy_match(self.det_rank[d], g, crowd, max(len(self.gt), 1))
        return d[chosen], g[chosen], iou[chosen], crowd[chosen]

    def _all_kept(self, which: str, iou_thr: float):
        """Matches with every detection kept, cached per IoU threshold.

        A confidence threshold only drops the tail of each group's score order, and the greedy match
        of a detection depends only on the detections before it, so the matches at any threshold are
        these, filtered. (Not so for the class-agnostic matching under per-class thresholds.)
        """
        key = (which, iou_thr)
        if key not in self._cache:
            if len(self._cache) >= 8:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = self._run(getattr(self, which), self.known, iou_thr)
        return self._cache[key]

    def _matches(self, which: str, kept: np.ndarray, iou_thr: float, prefix: bool = True):
        if not prefix:
            return self._run(getattr(self, which), kept, iou_thr)
        d, g, iou, crowd = self._all_kept(which, iou_thr)
        sel = kept[d]
        return d[sel], g[sel], iou[sel], crowd[sel]

    def match(self, iou_threshold: float = 0.5, score_threshold=0.0) -> "DetectionMatches":
        if not 0 < iou_threshold <= 1:
            raise ValidationError(f"IoU threshold must be in (0, 1], not {iou_threshold}")
        gt, dt, K = self.gt, self.dt, self.n_cat
        thr = self.score_thresholds(score_threshold)
        iou_thr = min(float(iou_threshold), 1 - 1e-10)  # as COCO and FiftyOne
        kept = self.known.copy()
        kept[self.known] = dt.scores[self.known] >= thr[dt.cat_idx[self.known]]
        d, g, iou, crowd = self._matches("classwise", kept, iou_thr)

        n_dt, n_gt = len(dt), len(gt)
        dt_tag = np.where(kept, FP, NONE).astype(np.int8)
        dt_tag[d] = np.where(crowd, IGNORED, TP)
        dt_match = np.full(n_dt, -1, np.int64)
        dt_match[d] = gt.ids[g]
        dt_iou = np.full(n_dt, np.nan)
        dt_iou[d] = iou
        gt_tag = np.where(gt.iscrowd, IGNORED, FN).astype(np.int8)
        gt_tag[g[~crowd]] = TP
        # a non-crowd object has at most one match; a crowd reports its first (highest-scoring) prediction,
        # so only the (few) crowd pairs need ordering
        gt_match = np.full(n_gt, -1, np.int64)
        gt_iou = np.full(n_gt, np.nan)
        solo = ~crowd
        gt_match[g[solo]] = dt.ids[d[solo]]
        gt_iou[g[solo]] = iou[solo]
        if crowd.any():
            cd, cg, ci = d[crowd], g[crowd], iou[crowd]
            o = np.argsort(self.det_rank[cd], kind="stable")
            first_g, first_i = np.unique(cg[o], return_index=True)
            gt_match[first_g] = dt.ids[cd[o][first_i]]
            gt_iou[first_g] = ci[o][first_i]

        confusion = None
        if self.agnostic is not None:
            confusion = self._confusion(kept, iou_thr, uniform=bool((thr == thr[0]).all()) if K else True)
        return DetectionMatches(
            category_ids=gt.category_ids, image_ids=gt.image_ids, iou_threshold=float(iou_threshold),
            score_thresholds=thr, dt_tag=dt_tag, dt_match=dt_match, dt_iou=dt_iou, gt_tag=gt_tag,
            gt_match=gt_match, gt_iou=gt_iou, dt_image=dt.image_idx, dt_cat=dt.cat_idx, gt_image=gt.image_idx,
            gt_cat=gt.cat_idx, dt_ids=dt.ids, gt_ids=gt.ids, dt_scores=dt.scores, confusion=confusion,
        )

    def _confusion(self, kept: np.ndarray, iou_thr: float, uniform: bool) -> np.ndarray:
        """[K+1, K+1] counts, rows ground truth, columns prediction, last row/column 'background'."""
        gt, dt, K = self.gt, self.dt, self.n_cat
        d, g, _, crowd = self._matches("agnostic", kept, iou_thr, prefix=uniform)
        on_crowd = np.zeros(len(dt), bool)
        on_crowd[d[crowd]] = True
        d, g = d[~crowd], g[~crowd]
        matched_dt = np.zeros(len(dt), bool)
        matched_dt[d] = True
        matched_gt = np.zeros(len(gt), bool)
        matched_gt[g] = True
        fp = kept & ~matched_dt & ~on_crowd
        fn = ~matched_gt & ~gt.iscrowd
        rows = np.concatenate([gt.cat_idx[g], np.full(int(fp.sum()), K), gt.cat_idx[fn]])
        cols = np.concatenate([dt.cat_idx[d], dt.cat_idx[fp], np.full(int(fn.sum()), K)])
        return np.bincount(rows * (K + 1) + cols, minlength=(K + 1) ** 2).reshape(K + 1, K + 1)


def match_detections(gt: GroundTruth, dt: Detections, *, iou_threshold: float = 0.5, score_threshold=0.0,
                     iou_type: str = "bbox", confusion: bool = True) -> "DetectionMatches":
    """One-off matching; for interactive threshold changes keep an InstanceMatcher (or ThresholdSession)."""
    return InstanceMatcher(gt, dt, iou_type=iou_type, confusion=confusion).match(iou_threshold, score_threshold)


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray):
    tp, fp, fn = (np.asarray(x, np.float64) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f1


@dataclass(eq=False)
class DetectionMatches:
    """Tags and match ids per detection / ground truth (input order), with the counts derived from them."""

    category_ids: np.ndarray
    image_ids: np.ndarray
    iou_threshold: float
    score_thresholds: np.ndarray
    dt_tag: np.ndarray
    dt_match: np.ndarray
    dt_iou: np.ndarray
    gt_tag: np.ndarray
    gt_match: np.ndarray
    gt_iou: np.ndarray
    dt_image: np.ndarray = field(repr=False, default=None)
    dt_cat: np.ndarray = field(repr=False, default=None)
    gt_image: np.ndarray = field(repr=False, default=None)
    gt_cat: np.ndarray = field(repr=False, default=None)
    dt_ids: np.ndarray = field(repr=False, default=None)
    gt_ids: np.ndarray = field(repr=False, default=None)
    dt_scores: np.ndarray = field(repr=False, default=None)
    confusion: np.ndarray | None = None

    def __post_init__(self):
        K, n_img = self.category_ids.shape[0], self.image_ids.shape[0]
        dc = np.maximum(self.dt_cat, 0)
        self.class_tp = np.bincount(dc[self.dt_tag == TP], minlength=K)
        self.class_fp = np.bincount(dc[self.dt_tag == FP], minlength=K)
        self.class_fn = np.bincount(self.gt_cat[self.gt_tag == FN], minlength=K)
        self.image_tp = np.bincount(self.dt_image[self.dt_tag == TP], minlength=n_img)
        self.image_fp = np.bincount(self.dt_image[self.dt_tag == FP], minlength=n_img)
        self.image_fn = np.bincount(self.gt_image[self.gt_tag == FN], minlength=n_img)

    @property
    def confusion_labels(self) -> list:
        return self.category_ids.tolist() + ["background"]

    def per_class(self) -> dict:
        """{category id: {tp, fp, fn, precision, recall, f1}}."""
        p, r, f1 = _prf(self.class_tp, self.class_fp, self.class_fn)
        return {cid: {"tp": int(a), "fp": int(b), "fn": int(c), "precision": float(pp), "recall": float(rr),
                      "f1": float(ff)}
                for cid, a, b, c, pp, rr, ff in zip(self.category_ids.tolist(), self.class_tp, self.class_fp,
                                                   self.class_fn, p, r, f1)}

    def summary(self) -> dict:
        """Micro (pooled counts) and macro (mean over classes with any object or prediction) P/R/F1."""
        tp, fp, fn = int(self.class_tp.sum()), int(self.class_fp.sum()), int(self.class_fn.sum())
        p, r, f1 = (float(x) for x in _prf(tp, fp, fn))
        active = (self.class_tp + self.class_fp + self.class_fn) > 0
        cp, cr, cf = _prf(self.class_tp, self.class_fp, self.class_fn)
        macro = {k: float(v[active].mean()) if active.any() else 0.0 for k, v in
                 (("precision", cp), ("recall", cr), ("f1", cf))}
        return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f1, "macro": macro,
                "iou_threshold": self.iou_threshold}

    def per_image(self) -> dict:
        """{image id: (tp, fp, fn)}."""
        return {iid: (int(a), int(b), int(c)) for iid, a, b, c in
                zip(self.image_ids.tolist(), self.image_tp, self.image_fp, self.image_fn)}

    def to_json(self, indent: int | None = None) -> str:
        out = {"summary": self.summary(), "per_class": {str(k): v for k, v in self.per_class().items()}}
        if self.confusion is not None:
            out["confusion"] = {"labels": [str(x) for x in self.confusion_labels], "matrix": self.confusion.tolist()}
        return json.dumps(out, indent=indent)

    def to_csv(self) -> str:
        """One row per detection and per ground truth: kind, id, image, category, score, tag, match, iou."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["kind", "id", "image_id", "category_id", "score", "tag", "match_id", "iou"])
        img, cats = self.image_ids.tolist(), self.category_ids.tolist()
        for i in range(self.dt_tag.shape[0]):
            c = int(self.dt_cat[i])
            w.writerow(["prediction", int(self.dt_ids[i]), img[self.dt_image[i]], cats[c] if c >= 0 else "",
                        repr(float(self.dt_scores[i])), TAG_NAMES[self.dt_tag[i]],
                        int(self.dt_match[i]) if self.dt_match[i] >= 0 else "",
                        "" if np.isnan(self.dt_iou[i]) else repr(float(self.dt_iou[i]))])
        for i in range(self.gt_tag.shape[0]):
            w.writerow(["ground_truth", int(self.gt_ids[i]), img[self.gt_image[i]], cats[self.gt_cat[i]], "",
                        TAG_NAMES[self.gt_tag[i]], int(self.gt_match[i]) if self.gt_match[i] >= 0 else "",
                        "" if np.isnan(self.gt_iou[i]) else repr(float(self.gt_iou[i]))])
        return buf.getvalue()
