"""Classification metrics: accuracy, top-k, per-class P/R/F1, averages, confusion matrix, PR/ROC curves, per item."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop_app.errors import ValidationError


def _safe_div(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def _curves(scores: np.ndarray, y_true: np.ndarray) -> list:
    """One-vs-rest PR and ROC curves per class, at every distinct score (descending)."""
    n, C = scores.shape
    order = np.argsort(-scores, axis=0, kind="stable")
    s = np.take_along_axis(scores, order, axis=0)
    pos = y_true[order] == np.arange(C)[None, :]
    tp = np.cumsum(pos, axis=0)
    fp = np.arange(1, n + 1)[:, None] - tp
    run_end = np.ones((n, C), bool)
    run_end[:-1] = s[1:] != s[:-1]  # a threshold keeps every tie
    out = []
    for c in range(C):
        e = run_end[:, c]
        tpc, fpc, thr = tp[e, c], fp[e, c], s[e, c]
        P, N = int(pos[:, c].sum()), n - int(pos[:, c].sum())
        precision = tpc / (tpc + fpc)
        recall = tpc / P if P else np.zeros_like(precision)
        ap = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision)) if P else float("nan")
        fpr = np.concatenate([[0.0], fpc / N]) if N else np.full(tpc.shape[0] + 1, np.nan)
        tpr = np.concatenate([[0.0], recall])
        auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)) if P and N else float("nan")
        out.append({"threshold": thr, "precision": precision, "recall": recall, "fpr": fpr, "tpr": tpr,
                    "ap": ap, "roc_auc": auc})
    return out


@dataclass(eq=False)
class ClassificationResult:
    """Per-class arrays are aligned with `classes` (class index order); `labels` are the confusion matrix's
    rows and columns: the classes, then "(no prediction)" when some item got none."""

    labels: list
    accuracy: float
    top_k: dict
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    predicted: np.ndarray  # how often each class was predicted
    confusion: np.ndarray  # rows true class, columns predicted class
    macro: dict
    weighted: dict
    item_correct: np.ndarray
    item_pred: np.ndarray
    item_score: np.ndarray
    curves: list | None = field(default=None, repr=False)

    @property
    def classes(self) -> list:
        return self.labels[:self.precision.shape[0]]

    def tp_fp_fn(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per class: a wrong prediction is an FP of the class predicted and an FN of the true class; an
        item without a prediction is an FN of its true class only."""
        tp = np.diag(self.confusion)[:self.precision.shape[0]]
        return tp, self.predicted - tp, self.support - tp

    def per_class(self) -> dict:
        out = {}
        tp, fp, fn = self.tp_fp_fn()
        for c, name in enumerate(self.classes):
            row = {"precision": float(self.precision[c]), "recall": float(self.recall[c]), "f1": float(self.f1[c]),
                   "support": int(self.support[c]), "predicted": int(self.predicted[c]),
                   "tp": int(tp[c]), "fp": int(fp[c]), "fn": int(fn[c])}
            if self.curves is not None:
                row["ap"] = self.curves[c]["ap"]
                row["roc_auc"] = self.curves[c]["roc_auc"]
            out[name] = row
        return out

    def wrong_items(self) -> np.ndarray:
        return np.flatnonzero(~self.item_correct)

    def to_dict(self, *, curves: bool = False) -> dict:
        def clean(v):  # JSON has no NaN
            return None if isinstance(v, float) and np.isnan(v) else v

        out = {
            "accuracy": self.accuracy,
            "top_k": {str(k): v for k, v in self.top_k.items()},
            "macro": self.macro, "weighted": self.weighted,
            "per_class": {str(k): {a: clean(b) for a, b in v.items()} for k, v in self.per_class().items()},
            "confusion": {"labels": [str(x) for x in self.labels], "matrix": self.confusion.tolist()},
        }
        if curves and self.curves is not None:
            out["curves"] = {str(name): {k: ([clean(x) for x in v.tolist()] if isinstance(v, np.ndarray) else clean(v))
                                         for k, v in c.items()} for name, c in zip(self.labels, self.curves)}
        return out

    def to_json(self, *, curves: bool = False, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(curves=curves), indent=indent)

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["class", "precision", "recall", "f1", "support", "ap", "roc_auc"])
        for name, row in self.per_class().items():
            w.writerow([name, row["precision"], row["recall"], row["f1"], row["support"],
                        row.get("ap", ""), row.get("roc_auc", "")])
        for avg, d in (("macro", self.macro), ("weighted", self.weighted)):
            w.writerow([f"[{avg}]", d["precision"], d["recall"], d["f1"], int(self.support.sum()), "", ""])
        w.writerow(["[accuracy]", "", "", self.accuracy, int(self.support.sum()), "", ""])
        return buf.getvalue()


NO_PREDICTION = "(no prediction)"   # the confusion matrix's last column: items the model gave no class


def predictions_at(pred_idx, scores, threshold) -> np.ndarray:
    """Predicted class per item at a confidence threshold (a number, or one per class): -1 (no
    prediction) where there was none (pred_idx < 0) or it scored below its class's threshold. A missing
    score (NaN) counts as certain, as an adapter's prediction without a confidence is stored with 1.0."""
    pred = np.asarray(pred_idx, np.int64)
    s = np.asarray(scores, np.float64)
    thr = np.asarray(threshold, np.float64)
    if thr.ndim:
        thr = thr[np.maximum(pred, 0)] if thr.shape[0] else np.zeros(pred.shape[0])
    kept = (pred >= 0) & (np.isnan(s) | (s >= thr))
    return np.where(kept, pred, -1)


def check_threshold(value: Any, name: str = "score_threshold") -> float:
    """A confidence threshold: a real number within [0, 1] (not a bool, a string or NaN)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(f"{name} must be a number within [0, 1], got {type(value).__name__} {value!r}")
    v = float(value)
    if not 0.0 <= v <= 1.0:   # also refuses NaN
        raise ValidationError(f"{name} must be within [0, 1], got {value!r}")
    return v


def class_thresholds(value: Any, classes: list, name: str = "score_threshold") -> float | np.ndarray:
    """A threshold for every class (a number) or per class ({class name: number}, the others at 0)."""
    if value is None:
        return 0.0
    if isinstance(value, dict):
        out = np.zeros(len(classes))
        for k, v in value.items():
            if k not in classes:
                raise ValidationError(f"{name}: {k!r} is not a class of this evaluation "
                                      f"({', '.join(map(str, classes))})")
            out[classes.index(k)] = check_threshold(v, f"{name}[{k!r}]")
        return out
    return check_threshold(value, name)


def evaluate_classification(y_true, y_pred=None, scores=None, *, labels: list | None = None,
                            top_k=(1, 5), curves: bool = True,
                            no_prediction_column: bool = False) -> ClassificationResult:
    """Metrics for class indices `y_true` against predictions (`y_pred`, or the argmax of `scores` [N, C]).

    A prediction of -1 is no prediction (the model abstained, or scored below a threshold): a miss of
    the item's true class and a prediction of no class, so it lowers that class's recall and no
    class's precision. The confusion matrix then has a last "(no prediction)" column (and an empty row
    to keep it square); per-class figures and averages are over the real classes only.

    top-k counts an item right when its true class is among the k best scores, ties going to the
    lower class index as argmax does (so top-1 equals accuracy without abstentions). Macro averages
    run over the classes that occur in the truth or the predictions (scikit-learn's default labels);
    weighted ones weight by support.
    """
    y_true = np.asarray(y_true, np.int64).reshape(-1)
    n = y_true.shape[0]
    if scores is not None:
        scores = np.asarray(scores, np.float64)
        if scores.ndim != 2 or scores.shape[0] != n:
            raise ValidationError(f"scores must be [items, classes] with {n} rows, got {scores.shape}")
        if np.isnan(scores).any():
            raise ValidationError(f"scores hold NaN (first at item {int(np.flatnonzero(np.isnan(scores).any(1))[0])})")
    if y_pred is None:
        if scores is None:
            raise ValidationError("give predictions or scores")
        y_pred = np.argmax(scores, axis=1) if n else np.zeros(0, np.int64)
    y_pred = np.asarray(y_pred, np.int64).reshape(-1)
    if y_pred.shape[0] != n:
        raise ValidationError(f"{n} true labels but {y_pred.shape[0]} predictions")
    C = len(labels) if labels is not None else max(
        int(y_true.max(initial=-1)) + 1, int(y_pred.max(initial=-1)) + 1, scores.shape[1] if scores is not None else 0)
    labels = list(labels) if labels is not None else list(range(C))
    for name, arr, low in (("true label", y_true, 0), ("prediction", y_pred, -1)):
        bad = np.flatnonzero((arr < low) | (arr >= C))
        if bad.shape[0]:
            raise ValidationError(f"{name} {int(arr[bad[0]])} of item {int(bad[0])} is not a class index below {C}")
    if scores is not None and scores.shape[1] != C:
        raise ValidationError(f"scores have {scores.shape[1]} columns for {C} classes")

    abstained = y_pred < 0
    extra = bool(no_prediction_column or abstained.any())
    Cm = C + 1 if extra else C
    confusion = np.bincount(y_true * Cm + np.where(abstained, C, y_pred), minlength=Cm * Cm).reshape(Cm, Cm)
    tp = np.diag(confusion)[:C]
    support = confusion[:C].sum(1)
    predicted = confusion[:, :C].sum(0)
    precision, recall = _safe_div(tp, predicted), _safe_div(tp, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    present = (support + predicted) > 0
    macro = {k: float(v[present].mean()) if present.any() else 0.0
             for k, v in (("precision", precision), ("recall", recall), ("f1", f1))}
    weighted = {k: float(np.sum(v * support) / support.sum()) if support.sum() else 0.0
                for k, v in (("precision", precision), ("recall", recall), ("f1", f1))}
    correct = y_true == y_pred
    topk = {}
    item_score = np.full(n, np.nan)
    if scores is not None and n:
        s_true = scores[np.arange(n), y_true][:, None]
        rank = (scores > s_true).sum(1) + ((scores == s_true) & (np.arange(C)[None, :] < y_true[:, None])).sum(1)
        topk = {int(k): float((rank < k).mean()) for k in top_k if k <= C}
        item_score = np.where(abstained, np.nan, scores[np.arange(n), np.maximum(y_pred, 0)])
    return ClassificationResult(
        labels=labels + ([NO_PREDICTION] if extra else []), accuracy=float(correct.mean()) if n else 0.0,
        top_k=topk, precision=precision, recall=recall,
        f1=f1, support=support, predicted=predicted, confusion=confusion, macro=macro, weighted=weighted,
        item_correct=correct, item_pred=y_pred, item_score=item_score,
        curves=_curves(scores, y_true) if (curves and scores is not None and n) else None,
    )
