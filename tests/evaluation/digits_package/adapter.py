"""A test classifier on scikit-learn's digits: a logistic regression's weights in a JSON artifact.

It reports its confidence the Dataloop way only (model_info={'confidence': ...}); with configuration
{'vector': True} it also writes the full per-class vector as metadata['scores']. Confidences are scaled
by 0.99 so a threshold can sit above every score. configuration {'malformed': ...} makes it return a
broken prediction for the first item of each batch (the hostile-input tests)."""

import json
from pathlib import Path

import numpy as np

import desktop_app.sdk as dl


class DigitsAdapter(dl.BaseModelAdapter):
    def load(self, local_path, **kwargs):
        f = Path(local_path) / "digits_lr.json"
        doc = json.loads(f.read_text()) if f.exists() else {"coef": [[0.0] * 64] * 10, "intercept": [0.0] * 10}
        self.coef = np.array(doc["coef"], np.float64)
        self.intercept = np.array(doc["intercept"], np.float64)

    def save(self, local_path, **kwargs):
        Path(local_path).mkdir(parents=True, exist_ok=True)
        (Path(local_path) / "digits_lr.json").write_text(json.dumps({"coef": self.coef.tolist(),
                                                                      "intercept": self.intercept.tolist()}))

    def predict(self, batch, **kwargs):
        labels = list(self.model_entity.labels)
        malformed = self.configuration.get("malformed")
        out = []
        for n, img in enumerate(batch):
            x = np.asarray(img, np.float64)[..., 0].reshape(-1) / 15.0      # the PNG holds value * 15
            p = probabilities(self.coef, self.intercept, x)
            k = int(np.argmax(p))
            coll = dl.AnnotationCollection()
            meta = {"scores": p.tolist()} if self.configuration.get("vector") else None
            info = {"name": self.model_entity.name, "model_id": self.model_entity.id, "confidence": 0.99 * float(p[k])}
            if malformed and n == 0:
                if malformed == "wrong type":
                    out.append({"label": labels[k]})
                    continue
                if malformed == "unknown label":
                    coll.add(annotation_definition=dl.Classification(label="eleven"), model_info=info)
                    out.append(coll)
                    continue
                if malformed == "nan scores":
                    meta = {"scores": [float("nan")] * len(labels)}
            coll.add(annotation_definition=dl.Classification(label=labels[k]), model_info=info, metadata=meta)
            out.append(coll)
        return out


def probabilities(coef, intercept, x):
    z = coef @ x + intercept
    e = np.exp(z - z.max())
    return e / e.sum()
