"""Per-instance detection matching at one IoU and confidence threshold: TP/FP/FN tags, counts, confusion matrix."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from functools import cached_property

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
    rank: np.ndarray              # det_rank[det]: the greedy's visiting order
    score: np.ndarray             # the detection's score
    code: np.ndarray              # what a match counts as: _class_code / _cell_code


class InstanceMatcher:
    """Holds everything about a (ground truth, detections) pair that no threshold changes; `match` is cheap.

    Semantics follow FiftyOne's COCO-style evaluation (fiftyone.utils.eval.coco): predictions in score
    order (ties in input order) take the free ground truth of their class with the highest IoU >= the
    threshold, non-crowd objects before crowds; a crowd absorbs any number of predictions. FiftyOne
    tags a prediction on a crowd "tp"; we tag it "ignored", as COCO does not count it. No area ranges,
    no maxDets. The confusion matrix matches across classes (a crowd still only takes its own class).

    `iou_fn(d, g, crowd) -> iou` (detection and ground-truth indexes, the ground truth's crowd flags) replaces
    the box or mask IoU computed here: a mask evaluation's cache keeps its pairwise mask IoUs and passes a
    lookup of them (evaluation.instance_masks.PairIoU), so no mask is decoded when a threshold moves.
    """

    def __init__(self, gt: GroundTruth, dt: Detections, *, iou_type: str = "bbox", confusion: bool = True,
                 iou_fn=None):
        dt.check_images(gt.image_ids.shape[0])
        if iou_type == "segm" and iou_fn is None and (gt.segmentation is None or dt.segmentation is None):
            raise ValidationError("segm matching needs segmentations on both sides")
        self.gt, self.dt, self.iou_type, self.iou_fn = gt, dt, iou_type, iou_fn
        self.n_cat = gt.category_ids.shape[0]
        self.known = dt.cat_idx >= 0
        order = np.argsort(-dt.scores, kind="stable")  # the order the sequential greedy visits
        self.det_rank = np.empty(len(dt), np.int64)
        self.det_rank[order] = np.arange(len(dt))
        # each class's kept count at any threshold is a binary search in its sorted scores
        kc = dt.cat_idx[self.known]
        o = np.lexsort((dt.scores[self.known], kc))
        self._class_scores = dt.scores[self.known][o]
        self._class_start = np.searchsorted(kc[o], np.arange(self.n_cat + 1))
        self._gt_per_class = np.bincount(gt.cat_idx[~gt.iscrowd], minlength=self.n_cat)
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
        if self.iou_fn is not None:
            iou = np.asarray(self.iou_fn(d, g, crowd), np.float64).reshape(d.shape[0])
        elif self.iou_type == "bbox":
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
        d, g, crowd = d[o], g[o], crowd[o]
        dcat, gcat = dt.cat_idx[d], gt.cat_idx[g]
        code = _class_code(dcat, crowd) if by_class else _cell_code(dcat, gcat, crowd, K)
        return _Pairs(d, g, iou[o], crowd, self.det_rank[d], dt.scores[d], code)

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

    def _run(self, p: _Pairs, kept: np.ndarray | None, iou_threshold: float) -> "_Matched":
        sel = p.iou >= iou_threshold
        if kept is not None:
            sel &= kept[p.det]
        idx = np.flatnonzero(sel)
        chosen = idx[greedy_match(p.rank[idx], p.gt[idx], p.crowd[idx], max(len(self.gt), 1))]
        return _Matched(*(getattr(p, f)[chosen] for f in _PAIR_FIELDS))

    def _all_kept(self, which: str, iou_thr: float) -> "_Matched":
        """Matches with every detection kept, cached per IoU threshold, in score order.

        A confidence threshold only drops the tail of each group's score order, and the greedy match
        of a detection depends only on the detections before it, so the matches at any threshold are
        these, filtered; under one threshold for every class, a prefix of them. (Not so for the
        class-agnostic matching under per-class thresholds.)
        """
        key = (which, iou_thr)
        if key not in self._cache:
            if len(self._cache) >= 8:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = self._run(getattr(self, which), None, iou_thr)
        return self._cache[key]

    def _matches(self, which: str, kept: np.ndarray, iou_thr: float, uniform: float | None) -> "_Matched":
        """The matches when keeping `kept`; `uniform`: the one threshold all classes share, if they do."""
        if which == "agnostic" and uniform is None:
            return self._run(self.agnostic, kept, iou_thr)
        m = self._all_kept(which, iou_thr)
        if uniform is not None:   # matches are in descending score order: the kept ones are a prefix
            n = int(np.searchsorted(-m.score, -uniform, side="right"))
            return m.head(n)
        return m.take(kept[m.d])

    def match(self, iou_threshold: float = 0.5, score_threshold=0.0) -> "DetectionMatches":
        if not 0 < iou_threshold <= 1:
            raise ValidationError(f"IoU threshold must be in (0, 1], not {iou_threshold}")
        gt, dt, K = self.gt, self.dt, self.n_cat
        thr = self.score_thresholds(score_threshold)
        iou_thr = min(float(iou_threshold), 1 - 1e-10)  # as COCO and FiftyOne
        uniform = float(thr[0]) if K and bool((thr == thr[0]).all()) else (0.0 if not K else None)
        if uniform is not None:
            kept = self.known & (dt.scores >= uniform)
        else:
            kept = self.known & (dt.scores >= thr[np.maximum(dt.cat_idx, 0)])
        m = self._matches("classwise", kept, iou_thr, uniform)
        kept_per_class = self._kept_per_class(thr)
        confusion = None
        if self.agnostic is not None:
            confusion = self._confusion(self._matches("agnostic", kept, iou_thr, uniform), kept_per_class)
        return DetectionMatches(
            category_ids=gt.category_ids, image_ids=gt.image_ids, iou_threshold=float(iou_threshold),
            score_thresholds=thr, kept=kept, matched=m, kept_per_class=kept_per_class,
            gt_per_class=self._gt_per_class, det_rank=self.det_rank, gt_iscrowd=gt.iscrowd,
            dt_image=dt.image_idx, dt_cat=dt.cat_idx, gt_image=gt.image_idx, gt_cat=gt.cat_idx, dt_ids=dt.ids,
            gt_ids=gt.ids, dt_scores=dt.scores, confusion=confusion)

    def _kept_per_class(self, thr: np.ndarray) -> np.ndarray:
        """How many predictions of each class score >= its threshold: a binary search per class."""
        s, start = self._class_scores, self._class_start
        out = np.empty(self.n_cat, np.int64)
        for k in range(self.n_cat):
            seg = s[start[k]:start[k + 1]]
            out[k] = seg.shape[0] - int(np.searchsorted(seg, thr[k], side="left"))
        return out

    def _confusion(self, m: "_Matched", kept_per_class: np.ndarray) -> np.ndarray:
        """[K+1, K+1] counts, rows ground truth, columns prediction, last row/column 'background'.

        Matched pairs are counted by cell; a kept prediction that matched nothing (and is not on a
        crowd, which only takes its own class) is a background column entry, a non-crowd object no
        prediction matched a background row entry, both by subtraction from the per-class totals."""
        K = self.n_cat
        cells = (K + 1) * (K + 1)
        bc = np.bincount(m.code, minlength=cells + K)
        out = bc[:cells].reshape(K + 1, K + 1).copy()
        on_crowd = bc[cells:cells + K]
        out[K, :K] = kept_per_class - out[:K, :K].sum(axis=0) - on_crowd
        out[:K, K] = self._gt_per_class - out[:K, :K].sum(axis=1)
        return out


@dataclass(eq=False)
class _Matched:
    """Chosen (prediction, ground truth) pairs in the order the greedy visits predictions."""

    d: np.ndarray
    g: np.ndarray
    iou: np.ndarray
    crowd: np.ndarray
    score: np.ndarray
    code: np.ndarray

    def head(self, n: int) -> "_Matched":
        return _Matched(*(getattr(self, f)[:n] for f in _MATCHED_FIELDS))

    def take(self, mask: np.ndarray) -> "_Matched":
        return _Matched(*(getattr(self, f)[mask] for f in _MATCHED_FIELDS))


_MATCHED_FIELDS = ("d", "g", "iou", "crowd", "score", "code")
_PAIR_FIELDS = ("det", "gt", "iou", "crowd", "score", "code")   # the same columns of _Pairs


def _class_code(dcat: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """A class-wise match counts as a true positive of its class (2k) or, on a crowd, an ignored one (2k + 1)."""
    return (dcat * 2 + crowd).astype(np.int32)


def _cell_code(dcat: np.ndarray, gcat: np.ndarray, crowd: np.ndarray, K: int) -> np.ndarray:
    """A class-agnostic match counts in a confusion cell (true * (K + 1) + predicted) or, on a crowd
    (always of its own class), as that class's prediction on a crowd: (K + 1)^2 + k."""
    return np.where(crowd, (K + 1) * (K + 1) + dcat, gcat * (K + 1) + dcat).astype(np.int32)


def match_detections(gt: GroundTruth, dt: Detections, *, iou_threshold: float = 0.5, score_threshold=0.0,
                     iou_type: str = "bbox", confusion: bool = True, iou_fn=None) -> "DetectionMatches":
    """One-off matching; for interactive threshold changes keep an InstanceMatcher (or ThresholdSession)."""
    return InstanceMatcher(gt, dt, iou_type=iou_type, confusion=confusion, iou_fn=iou_fn).match(
        iou_threshold, score_threshold)


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray):
    tp, fp, fn = (np.asarray(x, np.float64) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f1


@dataclass(eq=False)
class DetectionMatches:
    """Tags and match ids per detection / ground truth (input order), with the counts derived from them.

    Built from the chosen pairs; the per-instance arrays (tags, match ids, IoUs, per-image counts) are
    computed on first use, the per-class counts at once (they are what a threshold change shows)."""

    category_ids: np.ndarray
    image_ids: np.ndarray
    iou_threshold: float
    score_thresholds: np.ndarray
    kept: np.ndarray = field(repr=False)
    matched: _Matched = field(repr=False)
    kept_per_class: np.ndarray = field(repr=False)
    gt_per_class: np.ndarray = field(repr=False)
    det_rank: np.ndarray = field(repr=False)
    gt_iscrowd: np.ndarray = field(repr=False)
    dt_image: np.ndarray = field(repr=False, default=None)
    dt_cat: np.ndarray = field(repr=False, default=None)
    gt_image: np.ndarray = field(repr=False, default=None)
    gt_cat: np.ndarray = field(repr=False, default=None)
    dt_ids: np.ndarray = field(repr=False, default=None)
    gt_ids: np.ndarray = field(repr=False, default=None)
    dt_scores: np.ndarray = field(repr=False, default=None)
    confusion: np.ndarray | None = None

    def __post_init__(self):
        K = self.category_ids.shape[0]
        m = self.matched
        both = np.bincount(m.code, minlength=2 * K).reshape(K, 2) if K else np.zeros((0, 2), np.int64)
        self.class_tp = both[:, 0]
        self.class_fp = self.kept_per_class - both[:, 0] - both[:, 1]
        self.class_fn = self.gt_per_class - both[:, 0]

    @cached_property
    def solo(self) -> np.ndarray:
        """Mask over the matches: those on a non-crowd object (true positives)."""
        return ~self.matched.crowd

    @cached_property
    def dt_tag(self) -> np.ndarray:
        m = self.matched
        tag = self.kept.astype(np.int8)
        tag *= FP
        tag[m.d] = np.where(m.crowd, IGNORED, TP)
        return tag

    @cached_property
    def gt_tag(self) -> np.ndarray:
        tag = np.where(self.gt_iscrowd, IGNORED, FN).astype(np.int8)
        tag[self.matched.g[self.solo]] = TP
        return tag

    @cached_property
    def dt_match(self) -> np.ndarray:
        out = np.full(self.dt_ids.shape[0], -1, np.int64)
        out[self.matched.d] = self.gt_ids[self.matched.g]
        return out

    @cached_property
    def dt_iou(self) -> np.ndarray:
        out = np.full(self.dt_ids.shape[0], np.nan)
        out[self.matched.d] = self.matched.iou
        return out

    def _gt_side(self):
        # a non-crowd object has at most one match; a crowd reports its first (highest-scoring) prediction,
        # so only the (few) crowd pairs need ordering
        m, solo = self.matched, self.solo
        gt_match = np.full(self.gt_ids.shape[0], -1, np.int64)
        gt_iou = np.full(self.gt_ids.shape[0], np.nan)
        gt_match[m.g[solo]] = self.dt_ids[m.d[solo]]
        gt_iou[m.g[solo]] = m.iou[solo]
        if m.crowd.any():
            cd, cg, ci = m.d[m.crowd], m.g[m.crowd], m.iou[m.crowd]
            o = np.argsort(self.det_rank[cd], kind="stable")
            first_g, first_i = np.unique(cg[o], return_index=True)
            gt_match[first_g] = self.dt_ids[cd[o][first_i]]
            gt_iou[first_g] = ci[o][first_i]
        return gt_match, gt_iou

    @cached_property
    def gt_match(self) -> np.ndarray:
        self.__dict__["gt_match"], self.__dict__["gt_iou"] = self._gt_side()
        return self.__dict__["gt_match"]

    @cached_property
    def gt_iou(self) -> np.ndarray:
        self.__dict__["gt_match"], self.__dict__["gt_iou"] = self._gt_side()
        return self.__dict__["gt_iou"]

    @cached_property
    def _image_counts(self):
        n_img = self.image_ids.shape[0]
        m = self.matched
        tp_img = self.dt_image[m.d[self.solo]]
        image_tp = np.bincount(tp_img, minlength=n_img)
        image_fp = (np.bincount(self.dt_image[self.kept], minlength=n_img) - image_tp
                    - np.bincount(self.dt_image[m.d[m.crowd]], minlength=n_img))
        image_fn = np.bincount(self.gt_image[~self.gt_iscrowd], minlength=n_img) - image_tp
        return image_tp, image_fp, image_fn

    @property
    def image_tp(self) -> np.ndarray:
        return self._image_counts[0]

    @property
    def image_fp(self) -> np.ndarray:
        return self._image_counts[1]

    @property
    def image_fn(self) -> np.ndarray:
        return self._image_counts[2]

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
