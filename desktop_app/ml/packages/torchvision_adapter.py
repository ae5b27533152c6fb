"""The adapters of the built-in packages (resnet, mobilenet, tinydet, fasterrcnn, tinyinst, maskrcnn, tinyseg,
lraspp) over the training engine."""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

from desktop_app.errors import Cancelled
from desktop_app.ml.adapter import BaseModelAdapter
from desktop_app.ml.callbacks import Callback
from desktop_app.ml.readiness import WEIGHTS  # noqa: F401 - the weights file's name, where it was always imported


class CatalogReporter(Callback):
    """Per-epoch metrics and a running train loss into the catalog; progress and cancel for the job."""

    BATCH_EVERY = 10

    def __init__(self, adapter: TorchvisionAdapter, *, resumed: bool = False):
        self.adapter = adapter
        self.resumed = resumed
        self._losses: list[float] = []
        self._last_progress = 0.0

    def on_train_start(self, trainer: Any) -> None:
        self.total_steps = max(1, trainer.epochs * trainer.steps_per_epoch)
        self.epochs = trainer.epochs
        if self.resumed:  # the steps after the checkpoint run again: their old points go first
            self.adapter.resumed_from(trainer.global_step)

    def _log(self, step: int, epoch: float, points: dict[str, float]) -> None:
        """Points into the catalog; a cancel the job's sink reports becomes a clean stop (with a checkpoint
        at this very step, so a resume re-runs nothing)."""
        try:
            self.adapter.log_metrics(step, epoch=epoch, **points)
        except Cancelled:
            self.trainer.request_stop("cancelled")

    def on_train_batch_end(self, step: int, loss: float) -> None:
        self._losses.append(loss)
        if step % self.BATCH_EVERY == 0:
            mean = sum(self._losses) / len(self._losses)
            self._losses.clear()
            self._log(step, step / max(1, self.trainer.steps_per_epoch), {"train_batch/loss": mean})
        progress = self.adapter.context.get("progress")
        now = time.monotonic()
        if progress and now - self._last_progress > 0.5:
            self._last_progress = now
            epoch = (step - 1) // max(1, self.trainer.steps_per_epoch) + 1
            progress(min(99.0, 100.0 * step / self.total_steps), f"epoch {epoch}/{self.epochs} loss {loss:.4f}")
        if self.adapter.should_stop():
            self.trainer.request_stop("cancelled")

    def on_validation_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        step = metrics["step"]
        points = {}
        for key, value in metrics.items():
            if key in ("epoch", "step") or not isinstance(value, (int, float)):
                continue
            if key.startswith(("train_", "val_")) and key not in ("train_images_per_s",):
                legend, _, figure = key.partition("_")
                points[f"{'validation' if legend == 'val' else legend}/{figure}"] = value
            else:
                points[f"value/{key}"] = value
        self._log(step, epoch + 1, points)
        monitor = self.trainer.monitor
        progress = self.adapter.context.get("progress")
        if progress:
            progress(min(99.0, 100.0 * step / self.total_steps),
                     f"epoch {epoch + 1}/{self.epochs} {monitor} {metrics.get(monitor, float('nan')):.4f}")

    def on_warning(self, message: str) -> None:
        print(f"warning: {message}", flush=True)


class TorchvisionAdapter(BaseModelAdapter):
    task = "classification"

    def load(self, local_path: str, **kwargs: Any) -> None:
        w = Path(local_path) / WEIGHTS
        self.weights_path: Path | None = w if w.is_file() else None
        self._bundle = None
        self._trained: Path | None = None

    def save(self, local_path: str, **kwargs: Any) -> None:
        src = self._trained or self.weights_path
        if src is None:
            raise ValueError("nothing to save: the model has neither trained nor loaded weights")
        dest = Path(local_path)
        dest.mkdir(parents=True, exist_ok=True)
        if src.resolve() != (dest / WEIGHTS).resolve():
            shutil.copyfile(src, dest / WEIGHTS)
        (dest / "labels.json").write_text(json.dumps(list(self.model_entity.labels)))

    def engine_config(self) -> dict[str, Any]:
        from desktop_app.ml.hparams import schema_for
        conf = dict(self.configuration)
        schema = schema_for(self.task, conf.get("arch"))
        return {k: v for k, v in conf.items() if k in schema}

    def train(self, data_path: str, output_path: str, **kwargs: Any) -> None:
        from desktop_app.ml import trainer
        from desktop_app.ml.callbacks import LoggingCallback

        config = self.engine_config()
        if self.weights_path is not None and not config.get("pretrained_path"):
            config["pretrained_path"] = str(self.weights_path)  # a clone starts from its parent's weights
            config["pretrained"] = True
        checkpoint = Path(output_path) / "checkpoints" / "last.pt"
        resume_from = checkpoint if kwargs.get("resume") and checkpoint.is_file() else None
        if kwargs.get("resume") and resume_from is None:
            print("no checkpoint to resume from; starting from the beginning", flush=True)
        callbacks = [CatalogReporter(self, resumed=bool(kwargs.get("resume"))), LoggingCallback(every_n_steps=50)]
        result = trainer.train(self.task, data_path, output_path, config, callbacks=callbacks,
                               resume_from=resume_from)
        for msg in result.messages:
            print(msg, flush=True)
            if "random" in msg.lower():
                self._note_weights_origin(msg)
        self.context["result"] = {"status": result.status, "best_metric": result.best_metric,
                                  "monitor": result.monitor, "best_epoch": result.best_epoch,
                                  "epochs_completed": result.epochs_completed, "global_step": result.global_step}
        if result.status == "cancelled":
            raise Cancelled("canceled by the user")
        if result.weights_path is None:
            raise RuntimeError("training ended without a validated epoch; no weights to keep")
        self._trained = Path(result.weights_path)

    def _note_weights_origin(self, message: str) -> None:
        """No pretrained weights on this machine: say so in the log, on the model, and to SDK callers."""
        warnings.warn(message, UserWarning, stacklevel=2)
        m = self.model_entity
        meta = dict(m.metadata)
        meta["weights_origin"] = message
        m.metadata = meta
        self._catalog().update_model(m.id, metadata=meta)

    def _ensure_loaded(self):
        if self._bundle is None:
            from desktop_app.ml.predict import load_for_inference
            if self.weights_path is None:
                raise ValueError(f"model {self.model_entity.name!r} has no weights yet: train it first")
            self._bundle = load_for_inference(self.weights_path, self.configuration.get("device", "auto"))
        return self._bundle

    def predict(self, batch: Sequence[Any], **kwargs: Any) -> list:
        from desktop_app.ml.predict import predict_images
        bundle = self._ensure_loaded()
        conf = kwargs.get("conf_threshold", self.configuration.get("conf_threshold", 0.05))
        return predict_images(bundle, list(batch), conf_threshold=conf)

    def embed(self, batch: Sequence[Any], **kwargs: Any) -> Any:
        """[len(batch), embeddings_size] float32: the classifiers' pooled penultimate features (the final linear
        layer's input), the detectors' and segmenters' average-pooled last backbone feature map."""
        from desktop_app.ml.embedding import embed_images
        return embed_images(self._ensure_loaded(), list(batch))

    @property
    def embeddings_size(self) -> int | None:
        """The architecture fixes it (its weights say which one, else the configuration's arch)."""
        from desktop_app.ml.embedding import EMBEDDING_SIZES
        arch = self._bundle.arch if getattr(self, "_bundle", None) is not None else self.configuration.get("arch")
        return EMBEDDING_SIZES.get(arch)


class ClassificationAdapter(TorchvisionAdapter):
    task = "classification"


class DetectionAdapter(TorchvisionAdapter):
    task = "detection"


class InstanceSegmentationAdapter(TorchvisionAdapter):
    """Predicts one `binary` annotation (COCO RLE) per object."""
    task = "instance_segmentation"


class SemanticSegmentationAdapter(TorchvisionAdapter):
    """Predicts one `binary` annotation per class present in an image (the masks do not overlap)."""
    task = "semantic_segmentation"
