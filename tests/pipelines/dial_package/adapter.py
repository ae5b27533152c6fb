"""A classifier whose quality is a dial, for pipeline tests: deterministic, fast, no torch.

Evaluated on catalog items it looks at the item's ground truth and answers correctly for a fixed share of
items (its `skill`, per class with `class_skill`): the same items for every model, so a higher skill is
right on a superset and "better" / "worse" challengers are certain. Training writes the configuration's
skill into its weights and counts a generation. On raw images (a service) it answers the label
`labels[generation % len(labels)]`, so a service's answers show which model served them.
"""

import json
import time
from pathlib import Path

import numpy as np

import desktop_app.sdk as dl


def share(item_id: int) -> float:
    """Where an item falls in [0, 1): fixed per item, spread evenly."""
    return ((int(item_id) * 2654435761) % 10007) / 10007


class DialAdapter(dl.BaseModelAdapter):
    def load(self, local_path, **kwargs):
        f = Path(local_path) / "dial.json"
        self.weights = json.loads(f.read_text()) if f.exists() else {"skill": 0.5, "class_skill": {}, "generation": 0}
        delay = float(self.configuration.get("load_delay_s", 0) or 0)
        if delay:
            time.sleep(delay)  # a slow load on purpose (load_delay_s): requests arrive during a swap

    def save(self, local_path, **kwargs):
        Path(local_path).mkdir(parents=True, exist_ok=True)
        (Path(local_path) / "dial.json").write_text(json.dumps(self.weights))

    def train(self, data_path, output_path, **kwargs):
        cfg = self.configuration
        if cfg.get("fail"):
            raise RuntimeError("the model code failed on purpose")
        ann = json.loads((Path(data_path) / "train" / "annotations.json").read_text())
        items = ann["items"] if isinstance(ann, dict) else ann
        epochs = int(cfg.get("epochs", 2))
        for e in range(epochs):
            if self.should_stop():
                return
            time.sleep(float(cfg.get("sleep", 0) or 0))  # an epoch's work, on purpose: keeps a job running
            self.log_metrics(e + 1, epoch=e + 1, **{"train/loss": 1.0 / (e + 1)})
            kwargs["on_epoch_end_callback"](e, epochs)
        self.weights = {"skill": float(cfg.get("skill", 0.5)), "class_skill": dict(cfg.get("class_skill") or {}),
                        "generation": int(self.weights.get("generation", 0)) + 1, "trained_on": len(items)}

    def prepare_item_func(self, item):
        return item  # evaluation: this model reads the item's ground truth (a dial, not a vision model)

    def predict(self, batch, **kwargs):
        labels = list(self.model_entity.labels)
        skill, per_class = float(self.weights["skill"]), self.weights.get("class_skill") or {}
        out = []
        for x in batch:
            if isinstance(x, np.ndarray):
                delay = float(self.configuration.get("predict_delay_s", 0) or 0)
                if delay:
                    time.sleep(delay)  # a slow prediction on purpose (predict_delay_s)
                label = labels[int(self.weights.get("generation", 0)) % len(labels)]
            else:
                truth = next(a.label for a in x.annotations.list(ground_truth=True) if a.type == "class")
                right = share(x.id) < float(per_class.get(truth, skill))
                label = truth if right else labels[(labels.index(truth) + 1) % len(labels)]
            coll = dl.AnnotationCollection()
            coll.add(annotation_definition=dl.Classification(label=label),
                     model_info={"name": self.model_entity.name, "confidence": 0.9})
            out.append(coll)
        return out
