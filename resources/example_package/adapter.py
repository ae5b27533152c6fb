"""An example Model Desk package: a small CNN classifier written against dl.BaseModelAdapter.

Push it with
    dl.packages.push(package_name='small-cnn', src_path='resources/example_package',
                     entry_point='adapter.py', class_name='SmallCNNAdapter',
                     default_configuration={'epochs': 5, 'learning_rate': 0.003, 'image_size': 48})
then create a model of it on a dataset and call model.train(). Everything the app needs is here:
load / save move weights between the catalog and disk, train reads the layout prepare_data wrote
(<data_path>/<subset>/annotations.json + items/), and predict returns one AnnotationCollection per image.
"""

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

import desktop_app.sdk as dl


def small_cnn(num_classes: int) -> nn.Module:
    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
    return nn.Sequential(block(3, 16), block(16, 32), block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(64, num_classes))


class SmallCNNAdapter(dl.BaseModelAdapter):
    def _size(self) -> int:
        return int(self.configuration.get("image_size", 48))

    def _labels(self) -> list:
        return list(self.model_entity.labels)

    def load(self, local_path, **kwargs):
        self.model = small_cnn(len(self._labels()))
        weights = Path(local_path) / "small_cnn.pt"
        if weights.exists():
            self.model.load_state_dict(torch.load(weights, weights_only=True))
        self.model.eval()

    def save(self, local_path, **kwargs):
        Path(local_path).mkdir(parents=True, exist_ok=True)
        torch.save(self.model.state_dict(), Path(local_path) / "small_cnn.pt")
        (Path(local_path) / "labels.json").write_text(json.dumps(self._labels()))

    def _tensor(self, img) -> torch.Tensor:
        im = img if isinstance(img, Image.Image) else Image.fromarray(np.asarray(img, np.uint8))
        arr = np.asarray(im.convert("RGB").resize((self._size(), self._size())), np.float32) / 255.0
        return torch.from_numpy(arr).permute(2, 0, 1)

    def _load_subset(self, data_path, subset):
        index = {label: i for i, label in enumerate(self._labels())}
        doc = json.loads((Path(data_path) / subset / "annotations.json").read_text())
        xs, ys = [], []
        for it in doc["items"]:
            labels = [a["label"] for a in it["annotations"] if a["type"] == "class" and a["label"] in index]
            if labels:
                with Image.open(Path(data_path) / subset / "items" / it["filename"]) as im:
                    xs.append(self._tensor(im))
                ys.append(index[labels[0]])
        return torch.stack(xs), torch.tensor(ys)

    def train(self, data_path, output_path, **kwargs):
        cfg = self.configuration
        torch.manual_seed(int(cfg.get("seed", 0)))
        x, y = self._load_subset(data_path, "train")
        vx, vy = self._load_subset(data_path, "validation")
        opt = torch.optim.AdamW(self.model.parameters(), lr=float(cfg.get("learning_rate", 3e-3)))
        epochs, bs = int(cfg.get("epochs", 5)), int(cfg.get("batch_size", 32))
        step, best_acc, best_state = 0, -1.0, None
        for epoch in range(epochs):
            self.model.train()
            perm = torch.randperm(len(x))
            for i in range(0, len(x), bs):
                idx = perm[i:i + bs]
                loss = nn.functional.cross_entropy(self.model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                if self.should_stop():  # the app asked to cancel: stop between batches
                    return
            self.model.eval()
            with torch.no_grad():
                out = self.model(vx)
                val_loss = float(nn.functional.cross_entropy(out, vy))
                acc = float((out.argmax(1) == vy).float().mean())
            if acc > best_acc:  # keep the weights of the best epoch on validation, as a practitioner would
                best_acc = acc
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.log_metrics(step, epoch=epoch + 1, **{"train/loss": float(loss), "validation/loss": val_loss,
                                                        "validation/accuracy": acc})
            kwargs["on_epoch_end_callback"](epoch, epochs)
        if best_state is not None:
            self.model.load_state_dict(best_state)
            self.log_metrics(step, **{"validation/best_accuracy": best_acc})

    def embed(self, batch, **kwargs):
        """One vector per image for model.embed / feature_set.search: the pooled features the final Linear takes
        (64 numbers; declare it with 'embeddings_size': 64 in the configuration to have other lengths refused)."""
        with torch.no_grad():
            return self.model[:-1](torch.stack([self._tensor(img) for img in batch])).numpy()

    def predict(self, batch, **kwargs):
        with torch.no_grad():
            probs = torch.softmax(self.model(torch.stack([self._tensor(img) for img in batch])), dim=1)
        out = []
        for p in probs:
            k = int(p.argmax())
            coll = dl.AnnotationCollection()
            coll.add(annotation_definition=dl.Classification(label=self._labels()[k]),
                     model_info={"name": self.model_entity.name, "model_id": self.model_entity.id,
                                 "confidence": float(p[k])})
            out.append(coll)
        return out
