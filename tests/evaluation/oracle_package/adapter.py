"""A box model for tests: predicts each item's ground truth, jittered, plus a false positive; deterministic."""

import random
from pathlib import Path

import desktop_app.sdk as dl


class OracleBoxAdapter(dl.BaseModelAdapter):
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
                if a.type != "box" or rng.random() < 0.15:  # misses 15%: false negatives
                    continue
                j = [rng.uniform(-3, 3) for _ in range(4)]
                label = a.label if rng.random() > 0.1 else "circle"  # some confusions
                coll.add(annotation_definition=dl.Box(max(0, a.left + j[0]), max(0, a.top + j[1]),
                                                      a.right + j[2] + 4, a.bottom + j[3] + 4, label),
                         model_info={"name": self.model_entity.name, "confidence": round(rng.uniform(0.3, 1), 3)})
            if rng.random() < 0.5:  # a false positive somewhere empty
                coll.add(annotation_definition=dl.Box(0, 0, 10, 10, "star"),
                         model_info={"name": self.model_entity.name, "confidence": round(rng.uniform(0, 0.6), 3)})
            out.append(coll)
        return out
