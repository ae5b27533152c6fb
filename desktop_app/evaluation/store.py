"""A stored evaluation ("eval key"): its figures, live thresholds from the cached predictions, exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from desktop_app.catalog import Catalog, EvaluationRecord
from desktop_app.catalog.names import contained
from desktop_app.errors import ValidationError

from .classification import check_threshold


def check_iou(value: Any) -> float:
    """An IoU threshold: a number within (0, 1]."""
    v = check_threshold(value, "iou_threshold")
    if v <= 0.0:
        raise ValidationError(f"iou_threshold must be within (0, 1], got {value!r}")
    return v


def _category_id(key: Any, labels: list[str]) -> int:
    """A per-class threshold's key: a class name, or a category id (1-based, in label order)."""
    if isinstance(key, str):
        if key not in labels:
            raise ValidationError(f"score_threshold: {key!r} is not a class of this evaluation ({', '.join(labels)})")
        return labels.index(key) + 1
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 1 <= key <= len(labels):
        return int(key)
    raise ValidationError(f"score_threshold: {key!r} is neither a class name nor a category id 1..{len(labels)}")


class EvaluationView:
    def __init__(self, catalog: Catalog, record: EvaluationRecord):
        self.catalog = catalog
        self.record = record
        self._inputs = None
        self._session = None
        self._review = None
        self._items: dict | None = None
        self._semantic = None

    def __repr__(self) -> str:
        return f"Evaluation(name={self.name!r}, method={self.method!r}, model={self.model_id!r})"

    id = property(lambda self: self.record.id)
    name = property(lambda self: self.record.name)
    method = property(lambda self: self.record.method)
    model_id = property(lambda self: self.record.model_id)
    dataset_id = property(lambda self: self.record.dataset_id)
    results = property(lambda self: self.record.results)
    created_at = property(lambda self: self.record.created_at)
    iou_threshold = property(lambda self: self.record.iou_threshold)    # what it was scored at
    conf_threshold = property(lambda self: self.record.conf_threshold)

    @property
    def summary(self) -> dict:
        return dict(self.record.results.get("summary", {}))

    @property
    def per_class(self) -> dict:
        return dict(self.record.results.get("per_class", {}))

    def rename(self, new_name: str) -> EvaluationView:
        self.record = self.catalog.update_evaluation(self.id, name=new_name)
        return self

    def delete(self) -> None:
        self.catalog.delete_evaluation(self.id)

    def rescore(self, *, iou_threshold: float | None = None, conf_threshold: float | None = None) -> EvaluationView:
        """Score the stored predictions again (the ground truth may have been fixed), at this evaluation's own
        thresholds unless told otherwise; no model runs. Returns the new evaluation (same name)."""
        from .run import rescore
        out = rescore(self.catalog, self.id, iou_threshold=iou_threshold, conf_threshold=conf_threshold)
        return EvaluationView(self.catalog, self.catalog.get_evaluation(out["evaluation_id"]))

    # -- cached predictions -----------------------------------------------------------------
    def detection_inputs(self):
        if self.method != "coco":
            raise ValidationError("live IoU thresholds apply to detection evaluations")
        if self._inputs is None:
            if self.is_masks:
                from .instance_masks import inputs_from_npz
            else:
                from .run import inputs_from_npz
            self._inputs = inputs_from_npz(self._cache_bytes(), where=self._cache_where())
        return self._inputs

    @property
    def is_masks(self) -> bool:
        """A COCO evaluation of masks (an instance segmentation model's): IoUs are mask IoUs."""
        return self.method == "coco" and self.results.get("iou_type") == "segm"

    def _cache_where(self) -> str:
        return f"evaluation {self.name!r} ({self.id}), cache file store/{self.record.cache_sha}"

    def _cache_bytes(self) -> bytes:
        sha = self.record.cache_sha
        if not sha:
            raise ValidationError(f"evaluation {self.name!r} ({self.id}) has no cached predictions; evaluate the "
                                  f"model again")
        try:
            return self.catalog.store.path(sha).read_bytes()
        except ValidationError:
            raise ValidationError(f"evaluation {self.name!r} ({self.id}) names a cache {sha!r} that is not a "
                                  f"store reference; evaluate the model again") from None
        except FileNotFoundError:
            raise ValidationError(f"{self._cache_where()} is missing (run `desktop-app doctor`); evaluate the "
                                  f"model again to rebuild it") from None

    def session(self):
        """A ThresholdSession over the cached predictions: new thresholds without running the model."""
        if self._session is None:
            from .thresholds import ThresholdSession
            inp = self.detection_inputs()
            masks = {"iou_type": "segm", "iou_fn": inp.pairs} if self.is_masks else {}
            self._session = ThresholdSession(inp.gt, inp.dt, iou_threshold=self.record.iou_threshold,
                                             score_threshold=self.record.conf_threshold, **masks)
        return self._session

    def at_thresholds(self, *, iou_threshold: float | None = None, score_threshold: Any = None) -> dict:
        """P/R/F1 overall and per class, and the confusion matrix, at new thresholds (per-class: a dict)."""
        if iou_threshold is not None:
            check_iou(iou_threshold)
        if self.method == "classification":
            return self._classification_at(score_threshold)
        if self.method == "semantic":     # pixel figures: no threshold changes them
            r = self.results
            return {"summary": dict(r["summary"]), "per_class": dict(r["per_class"]), "confusion": r["confusion"]}
        inp = self.detection_inputs()
        st = score_threshold
        if isinstance(st, dict):  # {label: thr} -> {category id: thr}
            st = {_category_id(k, inp.labels): check_threshold(v, f"score_threshold[{k!r}]") for k, v in st.items()}
        elif st is not None:
            st = check_threshold(st)
        m = self.session().update(iou_threshold=iou_threshold, score_threshold=st)
        names = {i + 1: lb for i, lb in enumerate(inp.labels)}
        return {"summary": m.summary(), "per_class": {names[k]: v for k, v in m.per_class().items()},
                "confusion": {"labels": inp.labels + ["background"], "matrix": m.confusion.tolist()}}

    def classification_items(self) -> dict:
        """The per-item columns of a classification evaluation: classes (no "(no prediction)"), true and
        predicted class index (-1: none), the prediction's confidence (NaN: none stored), annotation ids."""
        if self._items is None:
            from .classification import NO_PREDICTION
            items = self.results.get("items") or {}
            if not items:
                raise ValidationError(f"the evaluation {self.name!r} keeps no per-item results; re-score it")
            classes = [lb for lb in self.results["confusion"]["labels"] if lb != NO_PREDICTION]
            idx = {lb: i for i, lb in enumerate(classes)}
            n = len(items["item_ids"])
            self._items = {
                "classes": classes, "item_ids": np.asarray(items["item_ids"], np.int64),
                "true": np.array([idx[t] for t in items["true"]], np.int64).reshape(n),
                "pred": np.array([idx.get(p, -1) for p in items["pred"]], np.int64).reshape(n),
                "score": np.array([np.nan if v is None else float(v) for v in items["score"]], np.float64).reshape(n),
                "true_id": np.asarray(items.get("true_id") or [-1] * n, np.int64).reshape(n),
                "pred_id": np.asarray(items.get("pred_id") or [-1] * n, np.int64).reshape(n)}
            if "true_id" not in items:
                self._find_annotation_ids(self._items)
        return self._items

    def _find_annotation_ids(self, it: dict) -> None:
        """Evaluations scored before annotation ids were kept: the same picks as the scorer, from the catalog."""
        ids = it["item_ids"].tolist()
        pos = {i: k for k, i in enumerate(ids)}
        for rec in sorted(self.catalog.list_annotations(item_ids=ids, ground_truth=True, types=["class"]),
                          key=lambda r: -r.id):
            it["true_id"][pos[rec.item_id]] = rec.id              # the lowest id wins, as in scoring
        preds = self.catalog.list_annotations(item_ids=ids, model_id=self.model_id, types=["class"])
        for rec in sorted(preds, key=lambda r: (r.score is None, -(r.score or 0.0), r.id), reverse=True):
            it["pred_id"][pos[rec.item_id]] = rec.id              # the most confident wins

    def _classification_at(self, score_threshold: Any) -> dict:
        """Below the threshold a prediction counts as none: a miss of the item's true class, no class's
        false positive. Figures are over the evaluation's classes (sklearn's labels=classes)."""
        from .classification import class_thresholds, evaluate_classification, predictions_at
        it = self.classification_items()
        thr = class_thresholds(score_threshold, it["classes"])
        y_pred = predictions_at(it["pred"], it["score"], thr)
        res = evaluate_classification(it["true"], y_pred, labels=it["classes"], top_k=(1,), curves=False,
                                      no_prediction_column=True)
        tp, fp, fn = (int(v.sum()) for v in res.tp_fp_fn())
        summary = {"accuracy": res.accuracy, "macro_f1": res.macro["f1"], "weighted_f1": res.weighted["f1"],
                   "macro_precision": res.macro["precision"], "macro_recall": res.macro["recall"],
                   "weighted_precision": res.weighted["precision"], "weighted_recall": res.weighted["recall"],
                   "tp": tp, "fp": fp, "fn": fn}
        return {"summary": summary, "per_class": res.per_class(),
                "confusion": {"labels": list(res.labels), "matrix": res.confusion.tolist()}}

    # -- the mistakes (the same queries as the GUI's error gallery) -----------------------------
    def review(self):
        """The ReviewSession the error gallery uses: every TP / FP / FN instance as columns; of a semantic
        evaluation, a SemanticReview: its items, worst first (no instances)."""
        if self._review is None:
            if self.method == "semantic":
                from .semantic_scoring import SemanticReview
                self._review = SemanticReview(self)
            else:
                from .review import ReviewSession
                self._review = ReviewSession(self)
        return self._review

    def semantic_items(self):
        """A semantic evaluation's items: per-class IoU, mean IoU and pixel accuracy of each (from the cache)."""
        if self.method != "semantic":
            raise ValidationError(f"evaluation {self.name!r} is a {self.method!r} evaluation, not a semantic one")
        if self._semantic is None:
            from .semantic_scoring import SemanticItems
            self._semantic = SemanticItems.from_npz(self._cache_bytes(), where=self._cache_where())
        return self._semantic

    def worst_items(self, *, label: str | None = None, limit: int | None = None,
                    iou_threshold: float | None = None) -> list[dict]:
        """A semantic evaluation's items, worst first: by the IoU of `label` (items holding it), else by the
        item's mean IoU; `below` lists an item's classes under the IoU threshold (the evaluation's own at
        first)."""
        r = self.review()
        if not hasattr(r, "worst"):
            raise ValidationError(f"evaluation {self.name!r} is a {self.method!r} evaluation; worst_items lists a "
                                  f"semantic one's items (use instances)")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
            raise ValidationError(f"limit must be a whole number >= 0, got {limit!r}")
        if iou_threshold is not None:
            r.update(iou_threshold=iou_threshold)
        return r.worst(label, limit)

    def _at(self, iou_threshold: float | None, score_threshold: Any):
        r = self.review()
        if iou_threshold is not None or score_threshold is not None:
            r.update(iou_threshold=iou_threshold, score_threshold=score_threshold)
        return r

    def instances(self, kind: str | Sequence[str] = "fp", *, label: str | None = None,
                  min_score: float | None = None, max_score: float | None = None, min_iou: float | None = None,
                  max_iou: float | None = None, sort: str = "most_wrong", limit: int | None = None,
                  iou_threshold: float | None = None, score_threshold: Any = None) -> list[dict]:
        """Instances at the thresholds (kept from the last call; the evaluation's own at first).

        kind: 'tp', 'fp', 'fn', a list of them, or 'errors' (fp + fn) / 'all'. A row is a kept prediction
        (tp / fp) or a ground truth (fn when missed). For classification that holds per item: a wrong class
        is an fp row (the class predicted) and an fn row (the true class), an item without a prediction at
        the threshold an fn row only, so the counts add up to the per-class figures. Confidence ranges
        apply to predictions only; IoU is a TP's matched IoU, an FP's or FN's best overlap. sort:
        'most_wrong' (confident FPs and large FNs first) or 'score'. Each row: kind, annotation_id, item_id,
        label, score, iou, match_id (-1: none), true_label, area, box [x, y, w, h]."""
        from .review import ERROR_KINDS, InstanceFilter
        if self.method == "semantic":
            raise ValidationError(f"evaluation {self.name!r} scores pixels (semantic): it has no instances; "
                                  f"worst_items lists its items, worst first")
        kinds = {"errors": ERROR_KINDS, "all": ("tp", "fp", "fn")}.get(kind, kind) if isinstance(kind, str) else kind
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds) if isinstance(kinds, (list, tuple)) else None
        if not kinds or not all(isinstance(k, str) for k in kinds) or set(kinds) - {"tp", "fp", "fn"}:
            raise ValidationError(f"kind is 'tp', 'fp', 'fn', a list of them, 'errors' or 'all', not {kind!r}")
        for name, value in (("min_score", min_score), ("max_score", max_score), ("min_iou", min_iou),
                            ("max_iou", max_iou)):
            if value is not None:
                check_threshold(value, name)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
            raise ValidationError(f"limit must be a whole number >= 0, got {limit!r}")
        if label is not None and label not in self.review().classes:
            raise ValidationError(f"label {label!r} is not a class of this evaluation "
                                  f"({', '.join(self.review().classes)})")
        r = self._at(iou_threshold, score_threshold)
        flt = InstanceFilter(kinds=kinds, label=label, min_score=0.0 if min_score is None else min_score,
                             max_score=1.0 if max_score is None else max_score,
                             min_iou=0.0 if min_iou is None else min_iou, max_iou=1.0 if max_iou is None else max_iou,
                             sort=sort)
        idx = r.select(flt)
        return r.table.rows(idx if limit is None else idx[:limit])

    def confusion_instances(self, true_label: str, predicted_label: str, *, iou_threshold: float | None = None,
                            score_threshold: Any = None) -> list[dict]:
        """The rows one confusion-matrix cell counts (the GUI's cell click). 'background' is the detection
        matrix's last row and column (FP: true background; FN: predicted background); a classification
        matrix has '(no prediction)' instead."""
        r = self._at(iou_threshold, score_threshold)
        labels = list(r.figures["confusion"]["labels"])
        for name in (true_label, predicted_label):
            if name not in labels:
                raise ValidationError(f"{name!r} is not a row or column of the confusion matrix: {labels}")
        return r.table.rows(r.confusion_cell(labels.index(true_label), labels.index(predicted_label)))

    def item_errors(self, *, iou_threshold: float | None = None, score_threshold: Any = None) -> dict[int, int]:
        """item id -> how many FP + FN it holds at the thresholds (items without a mistake are absent)."""
        return self._at(iou_threshold, score_threshold).item_errors()

    def regressions(self, baseline: EvaluationView) -> list[int]:
        """Items this evaluation gets wrong that `baseline` (another model's, same items) got right, worst first."""
        from .compare import regressions
        if (baseline.method == "semantic") != (self.method == "semantic"):
            raise ValidationError(f"evaluations {baseline.name!r} ({baseline.method}) and {self.name!r} "
                                  f"({self.method}) count mistakes differently; compare two of one kind")
        a, b = baseline.review(), self.review()
        return regressions(a.item_errors(), b.item_errors(), _evaluated(a), _evaluated(b))

    # -- export -----------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"name": self.name, "method": self.method, "model_id": self.model_id,
                           "dataset_id": self.dataset_id, "created_at": self.created_at,
                           "filter": self.record.filter, "results": self.results}, indent=2)

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        rows = self.per_class
        keys: list[str] = []
        for v in rows.values():
            keys += [k for k in v if k not in keys and not isinstance(v[k], (list, dict))]
        w.writerow(["class", *keys])
        for name, v in rows.items():
            w.writerow([name, *[v.get(k, "") for k in keys]])
        for k, v in self.summary.items():
            if isinstance(v, (int, float)):
                w.writerow([f"[{k}]", v])
        return buf.getvalue()

    def export(self, out_dir: str | Path) -> list[Path]:
        out = Path(out_dir)
        # The name is the user's (or a restored backup's): its files must land inside out_dir.
        j = contained(out, f"{self.name}.json", "evaluation name")
        c = contained(out, f"{self.name}.csv", "evaluation name")
        out.mkdir(parents=True, exist_ok=True)
        j.write_text(self.to_json())
        c.write_text(self.to_csv())
        return [j, c]


def _evaluated(review) -> list[int]:
    """The item ids a review covers (a ReviewSession's table, a SemanticReview's items)."""
    table = getattr(review, "table", None)
    return (table.item_ids if table is not None else review.item_ids).tolist()
