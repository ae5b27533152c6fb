"""A tiny adapter for sweep tests: its validation accuracy is a known function of learning_rate and batch_size."""

import json
import time
from pathlib import Path

import desktop_app.sdk as dl


def accuracy(learning_rate, batch_size, epoch):
    """Best near learning_rate 0.01 and batch_size 16; grows a little with each epoch."""
    return round(0.9 - abs(learning_rate - 0.01) * 10 - batch_size / 1000 + 0.01 * epoch, 6)


class SweepAdapter(dl.BaseModelAdapter):
    def load(self, local_path, **kwargs):
        f = Path(local_path) / "state.json"
        self.state = json.loads(f.read_text()) if f.exists() else {}

    def save(self, local_path, **kwargs):
        Path(local_path).mkdir(parents=True, exist_ok=True)
        (Path(local_path) / "state.json").write_text(json.dumps(self.state))

    def train(self, data_path, output_path, **kwargs):
        cfg = self.configuration
        lr, bs, epochs = float(cfg["learning_rate"]), int(cfg["batch_size"]), int(cfg.get("epochs", 1))
        for e in range(epochs):
            time.sleep(float(cfg.get("sleep", 0)))   # an epoch's work: lets a driver see a trial run
            if self.should_stop():
                return
            self.log_metrics(e + 1, epoch=e + 1, **{"validation/accuracy": accuracy(lr, bs, e),
                                                    "train/loss": 1.0 / (e + 1)})
            kwargs["on_epoch_end_callback"](e, epochs)
        self.state = {"learning_rate": lr, "batch_size": bs}

    def predict(self, batch, **kwargs):
        return [dl.AnnotationCollection() for _ in batch]
