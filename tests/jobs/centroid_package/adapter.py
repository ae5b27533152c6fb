"""A tiny adapter for tests: a nearest-mean-colour classifier, deterministic and fast, with knobs to be slow or fail."""

import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

import desktop_app.sdk as dl


class CentroidAdapter(dl.BaseModelAdapter):
    def load(self, local_path, **kwargs):
        f = Path(local_path) / "centroids.json"
        self.centroids = json.loads(f.read_text()) if f.exists() else {}

    def save(self, local_path, **kwargs):
        Path(local_path).mkdir(parents=True, exist_ok=True)
        (Path(local_path) / "centroids.json").write_text(json.dumps(self.centroids))

    def train(self, data_path, output_path, **kwargs):
        cfg = self.configuration
        if cfg.get("fail"):
            raise RuntimeError("the model code failed on purpose")
        if cfg.get("record_env"):
            Path(cfg["record_env"]).write_text(os.environ.get("CUDA_VISIBLE_DEVICES", "(unset)"))
        ann = json.loads((Path(data_path) / "train" / "annotations.json").read_text())
        sums = {}
        for it in ann["items"] if isinstance(ann, dict) else ann:
            labels = [a["label"] for a in it["annotations"] if a["type"] == "class"]
            if not labels:
                continue
            path = Path(data_path) / "train" / "items" / it["filename"]
            rgb = np.asarray(Image.open(path).convert("RGB"), np.float64).mean(axis=(0, 1))
            s = sums.setdefault(labels[0], [np.zeros(3), 0])
            s[0] += rgb
            s[1] += 1
        self.centroids = {k: (v[0] / v[1]).tolist() for k, v in sums.items()}
        epochs = int(cfg.get("epochs", 3))
        for e in range(epochs):
            if self.should_stop():
                return
            time.sleep(float(cfg.get("sleep", 0)))  # an epoch's work, on purpose: keeps a job running
            self.log_metrics(e + 1, epoch=e + 1, **{"train/loss": 1.0 / (e + 1)})
            kwargs["on_epoch_end_callback"](e, epochs)

    def predict(self, batch, **kwargs):
        out = []
        for img in batch:
            rgb = np.asarray(img, np.float64).reshape(-1, 3).mean(axis=0)
            best = min(self.centroids, key=lambda k: np.linalg.norm(rgb - np.array(self.centroids[k])))
            coll = dl.AnnotationCollection()
            coll.add(annotation_definition=dl.Classification(label=best),
                     model_info={"name": self.model_entity.name, "confidence": 0.9})
            out.append(coll)
        return out
