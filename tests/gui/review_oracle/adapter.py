"""A box model for review tests: each item's ground truth, jittered, some missed, some confused, plus a false
positive; deterministic. Knobs (model configuration): seed, miss, confuse, jitter, spurious."""

import random
from pathlib import Path

import desktop_app.sdk as dl


class ReviewOracleAdapter(dl.BaseModelAdapter):
    def load(self, local_path, **kwargs):
        self.loaded = True

    def save(self, local_path, **kwargs):
        Path(local_path).mkdir(parents=True, exist_ok=True)
        (Path(local_path) / "oracle.txt").write_text("no weights")

    def prepare_item_func(self, item):
        return item  # this model looks at the item's ground truth, not at pixels

    def predict(self, batch, **kwargs):
        cfg = self.configuration
        seed = int(cfg.get("seed", 0))
        miss, confuse = float(cfg.get("miss", 0.15)), float(cfg.get("confuse", 0.1))
        jitter, spurious = float(cfg.get("jitter", 3.0)), float(cfg.get("spurious", 0.5))
        out = []
        for item in batch:
            rng = random.Random(item.id * 7919 + seed)
            coll = dl.AnnotationCollection()
            for a in item.annotations.list(ground_truth=True):
                if a.type != "box" or rng.random() < miss:
                    continue
                j = [rng.uniform(-jitter, jitter) for _ in range(4)]
                label = a.label if rng.random() > confuse else "circle"
                coll.add(annotation_definition=dl.Box(max(0, a.left + j[0]), max(0, a.top + j[1]),
                                                      a.right + j[2] + 2, a.bottom + j[3] + 2, label),
                         model_info={"name": self.model_entity.name, "confidence": round(rng.uniform(0.3, 1), 3)})
            if rng.random() < spurious:  # a false positive in a corner
                coll.add(annotation_definition=dl.Box(0, 0, 14, 14, "star"),
                         model_info={"name": self.model_entity.name, "confidence": round(rng.uniform(0, 0.7), 3)})
            out.append(coll)
        return out
