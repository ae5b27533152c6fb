"""Box models for tests whose adapters override evaluate / evaluate_model (copied from the oracle package).

Each writes what it was called with into the file its model's configuration names ('record')."""

import json
import random
from pathlib import Path

import desktop_app.sdk as dl


class _Oracle(dl.BaseModelAdapter):
    """Predicts each item's ground-truth boxes, jittered; deterministic, no weights."""

    def load(self, local_path, **kwargs):
        self.loaded = True

    def save(self, local_path, **kwargs):
        Path(local_path).mkdir(parents=True, exist_ok=True)
        (Path(local_path) / "oracle.txt").write_text("no weights")

    def prepare_item_func(self, item):
        return item  # this model looks at the item's ground truth, not at pixels

    def predict(self, batch, **kwargs):
        out = []
        for item in batch:
            rng = random.Random(item.id)
            coll = dl.AnnotationCollection()
            for a in item.annotations.list(ground_truth=True):
                if a.type != "box":
                    continue
                j = [rng.uniform(-3, 3) for _ in range(4)]
                coll.add(annotation_definition=dl.Box(max(0, a.left + j[0]), max(0, a.top + j[1]),
                                                      a.right + j[2] + 4, a.bottom + j[3] + 4, a.label),
                         model_info={"name": self.model_entity.name, "confidence": round(rng.uniform(0.3, 1), 3)})
            out.append(coll)
        return out

    def _record(self, what, model, dataset, filters, kwargs):
        path = Path(self.configuration["record"])
        calls = json.loads(path.read_text()) if path.exists() else []
        calls.append({"method": what, "model_id": model.id, "dataset_id": dataset.id, "filters": filters,
                      "kwargs": {k: v for k, v in kwargs.items() if isinstance(v, (str, int, float))}})
        path.write_text(json.dumps(calls))


class OwnScore(_Oracle):
    """evaluate() scores its own way: the fraction of items it got at least one box for."""

    def evaluate(self, model, dataset, filters=None, **kwargs):
        self._record("evaluate", model, dataset, filters, kwargs)
        items = dataset.items.list(filters=filters)
        mine = {a.item_id for it in items for a in it.annotations.list(model_id=model.id)}
        return {"summary": {"covered": len(mine) / len(items), "items": len(items)}, "note": "own scorer"}


class WrapsEvaluateModel(_Oracle):
    """evaluate_model() runs the default (predict + the built-in score) and adds a figure of its own."""

    def evaluate_model(self, model, dataset, filters=None, **kwargs):
        self._record("evaluate_model", model, dataset, filters, kwargs)
        out = super().evaluate_model(model, dataset, filters, **kwargs)
        return {"summary": {**out["summary"], "wrapped": 1.0}}
