"""A stored evaluation ("eval key"): its figures, live thresholds from the cached predictions, exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from desktop_app.catalog import Catalog, EvaluationRecord
from desktop_app.errors import ValidationError

from .matching import FN, FP, TP


class EvaluationView:
    def __init__(self, catalog: Catalog, record: EvaluationRecord):
        self.catalog = catalog
        self.record = record
        self._inputs = None
        self._session = None

    def __repr__(self) -> str:
        return f"Evaluation(name={self.name!r}, method={self.method!r}, model={self.model_id!r})"

    id = property(lambda self: self.record.id)
    name = property(lambda self: self.record.name)
    method = property(lambda self: self.record.method)
    model_id = property(lambda self: self.record.model_id)
    dataset_id = property(lambda self: self.record.dataset_id)
    results = property(lambda self: self.record.results)
    created_at = property(lambda self: self.record.created_at)

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

    # -- cached predictions -----------------------------------------------------------------
    def detection_inputs(self):
        if self.method != "coco":
            raise ValidationError("live IoU thresholds apply to detection evaluations")
        if self._inputs is None:
            from .run import inputs_from_npz
            self._inputs = inputs_from_npz(self.catalog.store.path(self.record.cache_sha).read_bytes())
        return self._inputs

    def session(self):
        """A ThresholdSession over the cached predictions: new thresholds without running the model."""
        if self._session is None:
            from .thresholds import ThresholdSession
            inp = self.detection_inputs()
            self._session = ThresholdSession(inp.gt, inp.dt, iou_threshold=0.5,
                                             score_threshold=self.record.conf_threshold)
        return self._session

    def at_thresholds(self, *, iou_threshold: float | None = None, score_threshold: Any = None) -> dict:
        """P/R/F1 overall and per class, and the confusion matrix, at new thresholds (per-class: a dict)."""
        if self.method == "classification":
            return self._classification_at(score_threshold)
        inp = self.detection_inputs()
        st = score_threshold
        if isinstance(st, dict):  # {label: thr} -> {category id: thr}
            st = {inp.labels.index(k) + 1 if isinstance(k, str) else k: v for k, v in st.items()}
        m = self.session().update(iou_threshold=iou_threshold, score_threshold=st)
        names = {i + 1: lb for i, lb in enumerate(inp.labels)}
        return {"summary": m.summary(), "per_class": {names[k]: v for k, v in m.per_class().items()},
                "confusion": {"labels": inp.labels + ["background"], "matrix": m.confusion.tolist()}}

    def _classification_at(self, score_threshold: Any) -> dict:
        """Below the threshold a prediction counts as 'no prediction' (abstained)."""
        items = self.results.get("items") or {}
        thr = float(score_threshold or 0.0)
        labels = list(self.results["confusion"]["labels"])
        if "(no prediction)" not in labels:
            labels.append("(no prediction)")
        idx = {lb: i for i, lb in enumerate(labels)}
        y_true = np.array([idx[t] for t in items["true"]], np.int64)
        y_pred = np.array([idx[p] if s >= thr else idx["(no prediction)"]
                           for p, s in zip(items["pred"], items["score"])], np.int64)
        from .classification import evaluate_classification
        res = evaluate_classification(y_true, y_pred, labels=labels, top_k=(1,), curves=False)
        return {"summary": {"accuracy": res.accuracy, "macro_f1": res.macro["f1"]},
                "per_class": res.per_class(), "confusion": {"labels": labels, "matrix": res.confusion.tolist()}}

    def instances(self, kind: str = "fp", *, label: str | None = None, min_score: float | None = None,
                  max_score: float | None = None, iou_threshold: float | None = None,
                  score_threshold: Any = None) -> list[dict]:
        """The predictions (tp / fp) or ground truths (fn) at the current thresholds, most wrong first."""
        if kind not in ("tp", "fp", "fn"):
            raise ValidationError("kind is one of 'tp', 'fp', 'fn'")
        inp = self.detection_inputs()
        s = self.session()
        m = s.update(iou_threshold=iou_threshold, score_threshold=score_threshold) \
            if (iou_threshold is not None or score_threshold is not None or s.current is None) else s.current
        item_ids = inp.item_ids
        out = []
        if kind in ("tp", "fp"):
            tag = TP if kind == "tp" else FP
            sel = np.flatnonzero(m.dt_tag == tag)
            for i in sel.tolist():
                c = int(inp.dt.cat_idx[i])
                lb = inp.labels[c] if c >= 0 else None
                sc = float(inp.dt.scores[i])
                if label is not None and lb != label:
                    continue
                if min_score is not None and sc < min_score or max_score is not None and sc > max_score:
                    continue
                out.append({"kind": kind, "annotation_id": int(inp.dt.ids[i]),
                            "item_id": int(item_ids[inp.dt.image_idx[i]]), "label": lb, "score": sc,
                            "iou": float(m.dt_iou[i]), "match_id": int(m.dt_match[i])})
            out.sort(key=lambda r: -r["score"])
        else:
            sel = np.flatnonzero(m.gt_tag == FN)
            for i in sel.tolist():
                lb = inp.labels[int(inp.gt.cat_idx[i])]
                if label is not None and lb != label:
                    continue
                out.append({"kind": "fn", "annotation_id": int(inp.gt.ids[i]),
                            "item_id": int(item_ids[inp.gt.image_idx[i]]), "label": lb, "score": None,
                            "area": float(inp.gt.area[i]), "iou": float(m.gt_iou[i]),
                            "match_id": int(m.gt_match[i])})
            out.sort(key=lambda r: -r["area"])
        return out

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
        out.mkdir(parents=True, exist_ok=True)
        j = out / f"{self.name}.json"
        c = out / f"{self.name}.csv"
        j.write_text(self.to_json())
        c.write_text(self.to_csv())
        return [j, c]



