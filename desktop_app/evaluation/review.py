"""Reviewing one evaluation: every instance (TP / FP / FN) as columns, filters, "most wrong" order, confusion cells.

A `ReviewSession` wraps a stored evaluation. Everything that no threshold changes (ids, items, labels,
scores, areas, best overlaps, both sort orders) is computed once; a threshold change only recomputes
the tags through the evaluation's own ThresholdSession, so every count here is the evaluation core's.
Filtering is a boolean mask over the precomputed sort order: no sort happens per query.

Rows of the table: one per kept prediction (TP or FP) and one per non-crowd ground truth (FN, or GT
when matched). The confusion matrix counts the same rows, so a matrix cell maps to rows one to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from desktop_app.errors import ValidationError

from .classification import NO_PREDICTION, class_thresholds, predictions_at
from .matching import FN, FP, IGNORED, NONE, TP

GT_MATCHED = 5                 # a ground truth some prediction matched (shown only through a confusion cell)
KIND_CODES = {"tp": TP, "fp": FP, "fn": FN, "gt": GT_MATCHED}
KIND_NAMES = {v: k for k, v in KIND_CODES.items()}
ERROR_KINDS = ("fp", "fn")
SORTS = ("score", "most_wrong")


@dataclass(frozen=True)
class InstanceFilter:
    """What the error gallery shows. Confidence applies to predictions only (a missed object has no score);
    IoU is the matched IoU of a TP and the best overlap with the other side for an FP or FN."""

    kinds: tuple[str, ...] = ERROR_KINDS
    label: str | None = None
    min_score: float = 0.0
    max_score: float = 1.0
    min_iou: float = 0.0
    max_iou: float = 1.0
    sort: str = "most_wrong"

    def __post_init__(self):
        bad = set(self.kinds) - set(KIND_CODES)
        if bad:
            raise ValidationError(f"unknown instance kind(s) {sorted(bad)}; use tp, fp, fn")
        if self.sort not in SORTS:
            raise ValidationError(f"sort is one of {', '.join(SORTS)}, not {self.sort!r}")


class Column:
    """A column built on first use (and then kept): `iou` and `match_id` are only read for the rows
    shown, or by an IoU filter, so a threshold change does not build them up front."""

    def __init__(self, build: Any = None, value: np.ndarray | None = None):
        self._build, self._value = build, value

    def get(self) -> np.ndarray:
        if self._value is None:
            self._value, self._build = self._build(), None
        return self._value


@dataclass(eq=False)
class InstanceTable:
    """All rows at one pair of thresholds. Static columns are shared between updates; `kind`, `iou`
    and `match_id` are the threshold-dependent ones (the last two built when first read)."""

    labels: list[str]
    item_ids: np.ndarray          # evaluated items, by position
    kind: np.ndarray              # int8: TP, FP, FN, GT_MATCHED, or NONE / IGNORED (never selected)
    annotation_id: np.ndarray
    item_pos: np.ndarray          # position in item_ids
    label_idx: np.ndarray         # class index (-1: a label the evaluation does not know)
    true_idx: np.ndarray          # class of the ground truth behind the row (-1: none; use true_of)
    score: np.ndarray             # NaN for ground truth
    iou_col: Column               # .iou: matched IoU of a TP, best overlap otherwise
    match_col: Column             # .match_id: the other side's annotation id, -1 if none
    area: np.ndarray
    boxes: np.ndarray             # [N, 4] x, y, w, h (zeros where there is no geometry)
    is_prediction: np.ndarray
    score_order: np.ndarray = field(repr=False, default=None)
    wrong_order: np.ndarray = field(repr=False, default=None)
    by_item: np.ndarray = field(repr=False, default=None)       # rows grouped by item ...
    item_start: np.ndarray = field(repr=False, default=None)    # ... item p's rows: by_item[start[p]:start[p + 1]]
    item_index: dict = field(repr=False, default=None)          # item id -> position

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @property
    def iou(self) -> np.ndarray:
        return self.iou_col.get()

    @property
    def match_id(self) -> np.ndarray:
        return self.match_col.get()

    def item_id(self, i: int) -> int:
        return int(self.item_ids[self.item_pos[i]])

    def row(self, i: int) -> dict:
        """One row as `EvaluationView.instances` returns it (plus the class of its ground truth)."""
        i = int(i)
        k = KIND_NAMES.get(int(self.kind[i]), "none")
        c, t = int(self.label_idx[i]), self.true_of(i)
        sc = float(self.score[i])
        out = {"kind": k, "annotation_id": int(self.annotation_id[i]), "item_id": self.item_id(i),
               "label": self.labels[c] if c >= 0 else None, "score": None if np.isnan(sc) else sc,
               "iou": float(self.iou[i]), "match_id": int(self.match_id[i]),
               "true_label": self.labels[t] if t >= 0 else None, "area": float(self.area[i]),
               "box": [float(v) for v in self.boxes[i]]}
        return out

    def true_of(self, i: int) -> int:
        """Class of the ground truth behind row i (a TP prediction's is its own); -1 if none."""
        if self.kind[i] == TP and self.is_prediction[i]:
            return int(self.label_idx[i])
        return int(self.true_idx[i])

    def rows(self, idx: Sequence[int] | np.ndarray) -> list[dict]:
        return [self.row(i) for i in np.asarray(idx).tolist()]

    def counts(self, idx: np.ndarray | None = None) -> dict[str, int]:
        k = self.kind if idx is None else self.kind[idx]
        bc = np.bincount(k.astype(np.int64), minlength=GT_MATCHED + 1)
        return {"tp": int(bc[TP]), "fp": int(bc[FP]), "fn": int(bc[FN])}

    def items_of(self, idx: np.ndarray) -> np.ndarray:
        """Distinct item ids of rows `idx`, in the order they first appear."""
        pos = self.item_pos[idx]
        _, first = np.unique(pos, return_index=True)
        return self.item_ids[pos[np.sort(first)]]

    def count_items(self, idx: np.ndarray) -> int:
        """How many distinct items rows `idx` are on (a bincount: no sort)."""
        if not len(idx):
            return 0
        return int(np.count_nonzero(np.bincount(self.item_pos[idx], minlength=self.item_ids.shape[0])))

    def rows_of_item(self, item_id: int) -> np.ndarray:
        """Every shown row on one item (any kind), for drawing it whole."""
        p = self.item_index.get(int(item_id))
        if p is None:
            return np.zeros(0, np.int64)
        rows = self.by_item[self.item_start[p]:self.item_start[p + 1]]
        return rows[_kind_mask(self.kind[rows], (TP, FP, FN, GT_MATCHED))]


def select(table: InstanceTable, flt: InstanceFilter, restrict: np.ndarray | None = None) -> np.ndarray:
    """Row indices passing `flt` (and within `restrict` when given), in the filter's order."""
    order = table.score_order if flt.sort == "score" else table.wrong_order
    mask = _mask(table, flt)
    if restrict is not None:
        allowed = np.zeros(len(table), bool)
        allowed[np.asarray(restrict, np.int64)] = True
        mask &= allowed
    return order[mask[order]]


def _kind_mask(kind: np.ndarray, codes) -> np.ndarray:
    """kind in codes, by a lookup table (np.isin sorts: 10x slower on a million rows)."""
    lut = np.zeros(256, bool)
    lut[list(codes)] = True
    return lut[kind.astype(np.uint8, copy=False)]


def _mask(table: InstanceTable, flt: InstanceFilter, *, kinds: bool = True) -> np.ndarray:
    codes = [KIND_CODES[k] for k in flt.kinds] if kinds else list(KIND_CODES.values())
    m = _kind_mask(table.kind, codes)
    if flt.label is not None:
        if flt.label not in table.labels:
            return np.zeros(len(table), bool)
        m &= table.label_idx == table.labels.index(flt.label)
    if flt.min_score > 0.0 or flt.max_score < 1.0:
        sc = table.score
        m &= ~table.is_prediction | ((sc >= flt.min_score) & (sc <= flt.max_score))
    if flt.min_iou > 0.0 or flt.max_iou < 1.0:
        m &= (table.iou >= flt.min_iou) & (table.iou <= flt.max_iou)
    return m


def filter_counts(table: InstanceTable, flt: InstanceFilter, restrict: np.ndarray | None = None) -> dict[str, int]:
    """TP / FP / FN counts under every filter but the kind toggles: what each toggle would add."""
    narrowed = (flt.label is not None or flt.min_score > 0.0 or flt.max_score < 1.0 or flt.min_iou > 0.0
                or flt.max_iou < 1.0)
    if not narrowed and restrict is None:
        return table.counts()          # counts only read TP / FP / FN, so no kind mask is needed either
    mask = _mask(table, flt, kinds=False)
    if restrict is not None:
        allowed = np.zeros(len(table), bool)
        allowed[np.asarray(restrict, np.int64)] = True
        mask &= allowed
    return table.counts(np.flatnonzero(mask))


def _index_items(t: InstanceTable) -> None:
    t.by_item = np.argsort(t.item_pos, kind="stable")
    t.item_start = np.searchsorted(t.item_pos[t.by_item], np.arange(t.item_ids.shape[0] + 1))
    t.item_index = {int(v): k for k, v in enumerate(t.item_ids.tolist())}


class ReviewSession:
    """Threshold-dependent instances of one evaluation (detection or classification)."""

    def __init__(self, view: Any):
        self.view = view
        self.method = view.method
        self.figures: dict = {}
        self.table: InstanceTable | None = None
        self.iou_threshold = 0.5
        self.score_threshold: Any = float(view.record.conf_threshold or 0.0)
        self._agnostic_cache: tuple | None = None
        self._sweeps: dict = {}
        self._tp_order: np.ndarray | None = None
        self._rank_order: np.ndarray | None = None
        if self.method == "coco":
            self._build_detection()
        elif self.method == "classification":
            self._build_classification()
        else:
            raise ValidationError(f"no instance review for {self.method!r} evaluations" + (
                ": a semantic evaluation's review is its items (EvaluationView.review() gives a SemanticReview)"
                if self.method == "semantic" else ""))
        self.update()

    @property
    def labels(self) -> list[str]:
        return self._static.labels

    @property
    def is_detection(self) -> bool:
        return self.method == "coco"

    # -- one-off: the static columns ---------------------------------------------------------
    def _build_detection(self) -> None:
        inp = self.view.detection_inputs()
        matcher = self.view.session().matcher
        gt, dt = inp.gt, inp.dt
        n_dt, n_gt = len(dt), len(gt)
        # Best overlap with the other side (same class), whatever the thresholds.
        best_dt = np.zeros(n_dt)
        best_gt = np.zeros(n_gt)
        p = matcher.classwise
        if p.det.shape[0]:
            np.maximum.at(best_dt, p.det, p.iou)
            np.maximum.at(best_gt, p.gt, p.iou)
        gt_area = np.asarray(gt.area, np.float64)
        ranks = np.empty(n_gt)
        ranks[np.argsort(gt_area, kind="stable")] = (np.arange(n_gt) + 1) / max(n_gt, 1)
        is_pred = np.concatenate([np.ones(n_dt, bool), np.zeros(n_gt, bool)])
        score = np.concatenate([dt.scores.astype(np.float64), np.full(n_gt, np.nan)])
        best = np.concatenate([best_dt, best_gt])
        area_rank = np.concatenate([np.zeros(n_dt), ranks])
        boxes = np.concatenate([np.asarray(dt.boxes, np.float64).reshape(-1, 4),
                                np.asarray(gt.boxes, np.float64).reshape(-1, 4)])
        dt_area = np.asarray(dt.area, np.float64)            # a box's w * h; a mask's pixels
        t = InstanceTable(
            labels=list(inp.labels), item_ids=np.asarray(inp.item_ids, np.int64),
            kind=np.zeros(n_dt + n_gt, np.int8),
            annotation_id=np.concatenate([dt.ids, gt.ids]).astype(np.int64),
            item_pos=np.concatenate([dt.image_idx, gt.image_idx]).astype(np.int64),
            label_idx=np.concatenate([dt.cat_idx, gt.cat_idx]).astype(np.int64),
            true_idx=np.full(n_dt + n_gt, -1, np.int64), score=score, iou_col=Column(value=best),
            match_col=Column(value=np.full(n_dt + n_gt, -1, np.int64)), area=np.concatenate([dt_area, gt_area]), boxes=boxes,
            is_prediction=is_pred)
        t.true_idx[n_dt:] = t.label_idx[n_dt:]
        # A prediction's "true class": the class of the ground truth it overlaps most (IoU >= .5) whatever its
        # own class, so a false positive that is a confusion reads "circle (is square)".
        pa = matcher.agnostic
        if pa is not None and pa.det.shape[0]:
            o = np.lexsort((pa.iou, pa.det))
            d_sorted = pa.det[o]
            last = np.append(d_sorted[1:] != d_sorted[:-1], True)
            dets, gts, ious = d_sorted[last], pa.gt[o][last], pa.iou[o][last]
            ok = ious >= 0.5
            t.true_idx[dets[ok]] = gt.cat_idx[gts[ok]]
        # Both orders once: score (predictions high to low, then missed objects large to small) and
        # most wrong (false positives by confidence interleaved with missed objects by size).
        score_key = np.where(is_pred, np.nan_to_num(score, nan=0.0) + 2.0, area_rank)
        t.score_order = np.argsort(-score_key, kind="stable")
        wrong = np.where(is_pred, np.nan_to_num(score), area_rank)
        self._wrong_tp = (1.0 - best) / 2.0           # a correct row: how poorly it overlaps
        self._wrong_base = wrong
        _index_items(t)
        self._static = t
        self._best = best
        self._n_dt = n_dt
        self._gt_iscrowd = np.asarray(gt.iscrowd, bool)
        self._gt_kind = np.where(self._gt_iscrowd, IGNORED, FN).astype(np.int8)   # before any match
        t.wrong_order = self._wrong_order(None)

    def _wrong_order(self, kind: np.ndarray | None) -> np.ndarray:
        """Wrongness is static except that a TP sorts by its overlap, not its score: the order is rebuilt
        lazily per kind vector (only 'most wrong' over TPs needs it)."""
        base = self._wrong_base if kind is None else np.where(
            (kind == TP) | (kind == GT_MATCHED), self._wrong_tp, self._wrong_base)
        return np.argsort(-base, kind="stable")

    def _build_classification(self) -> None:
        """Like detection: a row per prediction (TP, FP, or nothing below the threshold) and a row per
        ground truth (GT when its item's kept prediction is right, else FN). A wrong class is then an FP
        of the class predicted and an FN of the true class, as in the per-class figures."""
        it = self.view.classification_items()
        labels = list(it["classes"]) + [NO_PREDICTION]
        item_ids = it["item_ids"]
        n = item_ids.shape[0]
        has = np.flatnonzero(it["pred"] >= 0)
        n_p = has.shape[0]
        pred_score = it["score"][has]
        t = InstanceTable(
            labels=labels, item_ids=item_ids, kind=np.zeros(n_p + n, np.int8),
            annotation_id=np.concatenate([it["pred_id"][has], it["true_id"]]).astype(np.int64),
            item_pos=np.concatenate([has, np.arange(n)]).astype(np.int64),
            label_idx=np.concatenate([it["pred"][has], it["true"]]).astype(np.int64),
            true_idx=np.concatenate([it["true"][has], it["true"]]).astype(np.int64),
            score=np.concatenate([pred_score, np.full(n, np.nan)]),
            iou_col=Column(value=np.zeros(n_p + n)), match_col=Column(value=np.full(n_p + n, -1, np.int64)),
            area=np.zeros(n_p + n), boxes=np.zeros((n_p + n, 4)),
            is_prediction=np.concatenate([np.ones(n_p, bool), np.zeros(n, bool)]))
        # Most wrong first: by how sure the model was; a missed class by how sure its item's prediction
        # was (an item without one last). A missing confidence counts as certain (as at the thresholds).
        sure = np.nan_to_num(it["score"], nan=1.0)
        item_sure = np.where(it["pred"] >= 0, sure, -1.0)
        key = np.concatenate([sure[has], item_sure])
        t.score_order = np.argsort(-np.where(t.is_prediction, key + 2.0, key), kind="stable")
        t.wrong_order = np.argsort(-key, kind="stable")
        _index_items(t)
        self._static = t
        self._n_pred = n_p
        self._pred_item = has
        self._item_pred = it["pred"]
        self._item_score = it["score"]

    @property
    def classes(self) -> list[str]:
        """The evaluation's classes (the confusion matrix's rows without "(no prediction)")."""
        return [lb for lb in self.labels if lb != NO_PREDICTION]

    # -- thresholds ---------------------------------------------------------------------------
    def update(self, *, iou_threshold: float | None = None, score_threshold: Any = None) -> InstanceTable:
        """New thresholds (None keeps one): the evaluation core recomputes, the rows take its tags."""
        iou = self.iou_threshold if iou_threshold is None else iou_threshold
        score = self.score_threshold if score_threshold is None else score_threshold
        if self.is_detection:   # the core checks both first: a refused value leaves the session as it was
            self.figures = self.view.at_thresholds(iou_threshold=iou, score_threshold=score)
            self.iou_threshold, self.score_threshold = float(iou), score
            self.table = self._detection_table(self.view.session().current)
        else:
            self.figures = self.view.at_thresholds(iou_threshold=iou_threshold, score_threshold=score)  # IoU: checked
            self.score_threshold = score
            self.table = self._classification_table()
        self._agnostic_cache = None
        return self.table

    def _detection_table(self, m) -> InstanceTable:
        """Rows' kinds from the matcher's chosen pairs; their IoU and match id columns when first read."""
        s, n_dt = self._static, self._n_dt
        mm = m.matched
        kind = np.empty(len(s), np.int8)
        np.multiply(m.kept, np.int8(FP), out=kind[:n_dt])
        kind[n_dt:] = self._gt_kind
        if mm.crowd.any():
            solo = ~mm.crowd
            ds, gs, iou_s = mm.d[solo], mm.g[solo], mm.iou[solo]
            kind[mm.d[mm.crowd]] = IGNORED
        else:
            ds, gs, iou_s = mm.d, mm.g, mm.iou
        kind[ds] = TP
        kind[n_dt + gs] = GT_MATCHED

        def iou() -> np.ndarray:
            out = self._best.copy()
            out[ds] = iou_s
            out[n_dt + gs] = iou_s
            return out

        def match_id() -> np.ndarray:
            out = np.empty(len(s), np.int64)
            out[:n_dt] = m.dt_match
            out[n_dt:] = m.gt_match
            return out

        t = InstanceTable(labels=s.labels, item_ids=s.item_ids, kind=kind, annotation_id=s.annotation_id,
                          item_pos=s.item_pos, label_idx=s.label_idx, true_idx=s.true_idx, score=s.score,
                          iou_col=Column(iou), match_col=Column(match_id), area=s.area, boxes=s.boxes,
                          is_prediction=s.is_prediction, score_order=s.score_order, wrong_order=s.wrong_order,
                          by_item=s.by_item, item_start=s.item_start, item_index=s.item_index)
        self._tp_order = None
        return t

    def _classification_table(self) -> InstanceTable:
        s, n_p = self._static, self._n_pred
        thr = class_thresholds(self.score_threshold, self.classes)
        y_pred = predictions_at(self._item_pred, self._item_score, thr)   # the same call as the figures'
        right = y_pred == s.true_idx[n_p:]
        kept = y_pred[self._pred_item] >= 0
        kind = np.empty(len(s), np.int8)
        kind[:n_p] = np.where(kept, np.where(right[self._pred_item], TP, FP), NONE)
        kind[n_p:] = np.where(right, GT_MATCHED, FN)
        self._y_pred = y_pred
        return InstanceTable(labels=s.labels, item_ids=s.item_ids, kind=kind, annotation_id=s.annotation_id,
                             item_pos=s.item_pos, label_idx=s.label_idx, true_idx=s.true_idx, score=s.score,
                             iou_col=s.iou_col, match_col=s.match_col, area=s.area, boxes=s.boxes,
                             is_prediction=s.is_prediction, score_order=s.score_order, wrong_order=s.wrong_order,
                             by_item=s.by_item, item_start=s.item_start, item_index=s.item_index)

    # -- queries ------------------------------------------------------------------------------
    def select(self, flt: InstanceFilter, restrict: np.ndarray | None = None) -> np.ndarray:
        t = self.table
        if self.is_detection and flt.sort == "most_wrong" and "tp" in flt.kinds:
            if self._tp_order is None:
                self._tp_order = self._wrong_order(t.kind)
            t = InstanceTable(**{**t.__dict__, "wrong_order": self._tp_order})
        return select(t, flt, restrict)

    def counts(self, flt: InstanceFilter, restrict: np.ndarray | None = None) -> dict[str, int]:
        return filter_counts(self.table, flt, restrict)

    def confusion_cell(self, row: int, col: int) -> np.ndarray:
        """Rows counted in confusion[row][col] (row: true class, col: predicted; last: background)."""
        t = self.table
        if self.is_detection:
            bg = len(self.labels)
            if not (0 <= row <= bg and 0 <= col <= bg) or (row == bg and col == bg):
                return np.zeros(0, np.int64)
            d, g, fp, fn = self._agnostic()
            n_dt = self._n_dt
            if row == bg:
                sel = fp[t.label_idx[fp] == col]
            elif col == bg:
                sel = n_dt + fn[t.label_idx[n_dt + fn] == row]
            else:
                keep = (t.label_idx[n_dt + g] == row) & (t.label_idx[d] == col)
                sel = d[keep]
            return np.sort(sel.astype(np.int64))
        # A cell of a real class is its kept predictions (true row, predicted col); the "(no prediction)"
        # column is the ground truth of items left without one.
        none, n_p = self.labels.index(NO_PREDICTION), self._n_pred
        if col == none:
            return n_p + np.flatnonzero((t.true_idx[n_p:] == row) & (self._y_pred < 0))
        sel = (t.kind[:n_p] == TP) | (t.kind[:n_p] == FP)
        return np.flatnonzero(sel & (t.true_idx[:n_p] == row) & (t.label_idx[:n_p] == col))

    def _agnostic(self):
        """The class-agnostic matches behind the confusion matrix: matched (det, gt), unmatched dets, gts."""
        if self._agnostic_cache is None:
            matcher = self.view.session().matcher
            m = self.view.session().current
            kept = m.kept
            thr = m.score_thresholds
            uniform = (float(thr[0]) if bool((thr == thr[0]).all()) else None) if thr.shape[0] else 0.0
            iou_thr = min(float(m.iou_threshold), 1 - 1e-10)
            # The same call InstanceMatcher.match makes for the confusion matrix, so the cells add up to it.
            am = matcher._matches("agnostic", kept, iou_thr, uniform)
            d, g, crowd = am.d, am.g, am.crowd
            on_crowd = np.zeros(kept.shape[0], bool)
            on_crowd[d[crowd]] = True
            d, g = d[~crowd], g[~crowd]
            matched_dt = np.zeros(kept.shape[0], bool)
            matched_dt[d] = True
            matched_gt = np.zeros(self._gt_iscrowd.shape[0], bool)
            matched_gt[g] = True
            fp = np.flatnonzero(kept & ~matched_dt & ~on_crowd)
            fn = np.flatnonzero(~matched_gt & ~self._gt_iscrowd)
            self._agnostic_cache = (d, g, fp, fn)
        return self._agnostic_cache

    def item_tags(self, item_id: int) -> dict[int, str]:
        """annotation id -> 'tp' | 'fp' | 'fn' | 'gt' for one item at the current thresholds, and 'below' for a
        prediction the confidence threshold drops (counted nowhere, so drawn nowhere)."""
        t = self.table
        p = t.item_index.get(int(item_id))
        if p is None:
            return {}
        rows = t.by_item[t.item_start[p]:t.item_start[p + 1]]
        out = {}
        for i in rows.tolist():
            aid, k = int(t.annotation_id[i]), int(t.kind[i])
            if aid < 0:
                continue
            if k in KIND_NAMES:
                out[aid] = KIND_NAMES[k]
            elif k == NONE and t.is_prediction[i]:
                out[aid] = "below"
        return out

    def item_errors(self) -> dict[int, int]:
        """item id -> number of FP + FN rows (items with none are absent)."""
        t = self.table
        err = (t.kind == FP) | (t.kind == FN)
        counts = np.bincount(t.item_pos[err], minlength=t.item_ids.shape[0])
        nz = np.flatnonzero(counts)
        return dict(zip(t.item_ids[nz].tolist(), counts[nz].tolist()))

    def pr_sweeps(self, max_points: int = 400) -> dict[str, dict[str, np.ndarray]]:
        """Precision / recall against the confidence threshold, per class, at the current IoU threshold.

        One matching with every prediction kept serves all classes (a confidence threshold drops the tail
        of the score order and leaves the earlier matches as they are), so this is exact at every point."""
        key = round(self.iou_threshold, 6)
        if key in self._sweeps:
            return self._sweeps[key]
        out: dict[str, dict[str, np.ndarray]] = {}
        t = self._static
        if self.is_detection:
            matcher = self.view.session().matcher
            # The matches with every prediction kept, which the matcher caches per IoU threshold (the
            # current figures just computed them): tags at "no threshold" without another matching.
            iou_thr = min(float(self.iou_threshold), 1 - 1e-10)
            every = matcher._all_kept("classwise", iou_thr)
            d, crowd = every.d, every.crowd
            n_dt = self._n_dt
            if self._rank_order is None:   # by class, then in the matcher's score order: one slice a class
                cats = t.label_idx[:n_dt]
                self._rank_order = np.lexsort((matcher.det_rank, cats))
                self._class_start = np.searchsorted(cats[self._rank_order], np.arange(len(t.labels) + 1))
                self._order_pos = np.empty(n_dt, np.int64)
                self._order_pos[self._rank_order] = np.arange(n_dt)
                self._order_scores = t.score[:n_dt][self._rank_order]
                self._class_gt = np.bincount(t.label_idx[n_dt:][~self._gt_iscrowd], minlength=len(t.labels))
            start, pos, scores_o = self._class_start, self._order_pos, self._order_scores
            hit = np.zeros(n_dt, bool)           # in that order: a true positive when nothing is dropped
            ignored = None                       # ... and on a crowd (not counted either way)
            if crowd.any():
                hit[pos[d[~crowd]]] = True
                ignored = np.zeros(n_dt, bool)
                ignored[pos[d[crowd]]] = True
            else:
                hit[pos[d]] = True
            for k, name in enumerate(t.labels):
                h, sc = hit[start[k]:start[k + 1]], scores_o[start[k]:start[k + 1]]
                if ignored is not None:
                    keep = ~ignored[start[k]:start[k + 1]]
                    h, sc = h[keep], sc[keep]
                out[name] = _sweep(h, sc, int(self._class_gt[k]), max_points)
        else:
            n_p = self._n_pred
            order = t.score_order[t.score_order < n_p]          # the predictions, surest first
            sc = np.nan_to_num(t.score, nan=1.0)
            truth = t.true_idx[n_p:]
            for k, name in enumerate(self.classes):
                sel = order[t.label_idx[order] == k]
                out[name] = _sweep(t.true_idx[sel] == k, sc[sel], int((truth == k).sum()), max_points)
        if len(self._sweeps) > 8:
            self._sweeps.clear()
        self._sweeps[key] = out
        return out


def _sweep(hit: np.ndarray, scores: np.ndarray, n_pos: int, max_points: int) -> dict[str, np.ndarray]:
    """Cumulative P/R over predictions already in descending score order; at most `max_points` points."""
    tp = np.cumsum(hit)
    fp = np.cumsum(~hit)
    last = np.append(scores[1:] != scores[:-1], True) if scores.shape[0] else np.zeros(0, bool)
    tp, fp, scores = tp[last], fp[last], scores[last]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = tp / n_pos if n_pos else np.zeros_like(precision)
    if precision.shape[0] > max_points:
        keep = np.unique(np.linspace(0, precision.shape[0] - 1, max_points).astype(np.int64))
        precision, recall, scores = precision[keep], recall[keep], scores[keep]
    return {"precision": precision, "recall": recall, "score": scores}


def point_at(sweep: dict[str, np.ndarray], threshold: float) -> tuple[float, float] | None:
    """(recall, precision) of a sweep at one confidence threshold (the last point scoring >= it)."""
    s = sweep["score"]
    k = int(np.searchsorted(-s, -threshold, side="right")) - 1
    if k < 0:
        return None
    return float(sweep["recall"][k]), float(sweep["precision"][k])


def annotation_snapshot(rec: Any) -> dict:
    """What `Catalog.restore_annotation` needs to put a deleted annotation back with its id."""
    return {"id": rec.id, "item_id": rec.item_id, "dataset_id": rec.dataset_id, "type": rec.type,
            "label": rec.label, "coordinates": rec.compact_coordinates(), "attributes": dict(rec.attributes),
            "score": rec.score, "model_id": rec.model_id, "model_name": rec.model_name,
            "iscrowd": rec.iscrowd, "metadata": dict(rec.metadata), "creator": rec.creator}
