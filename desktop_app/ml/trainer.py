"""The training loop: it owns the loop; reporting, checkpoints, early stopping and cancel are callbacks.

`train(task, data_path, output_path, config)` reads the local layout (`ml.layout`), builds the model and
runs `Trainer.fit`. Outputs: output_path/weights.pt (best epoch, loadable by `predict.load_for_inference`)
and output_path/checkpoints/last.pt (resumable: model, optimiser, scheduler, step, RNG, best metric).
Every epoch reseeds from (seed, epoch), so a run resumed at an epoch boundary, or mid-epoch after a
cancel, goes on exactly as the uninterrupted run would have (on CPU with num_workers=0; with worker
processes the augmentation draws may differ after a mid-epoch resume).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
import torch.distributed as dist

from desktop_app.ml import data as mldata
from desktop_app.ml.callbacks import Callback, CallbackList, EarlyStopping, ModelCheckpoint, StopTraining, log
from desktop_app.ml.errors import TrainingError
from desktop_app.ml.hparams import schema_for, validate_config
from desktop_app.ml.layout import read_labels, read_layout
from desktop_app.ml.metrics import accuracy, detection_map, instance_map, mask_rles, semantic_scores
from desktop_app.ml.models import TaskModel, build_model, unwrap, weights_payload

CHECKPOINT_FORMAT = "model-desk-checkpoint/1"
MONITOR = {"classification": "val_accuracy", "detection": "val_map50", "instance_segmentation": "val_mask_map50",
           "semantic_segmentation": "val_miou"}
BOX_TASKS = ("detection", "instance_segmentation")   # gradients clipped; predictions are lists of dicts


@dataclass
class TrainResult:
    status: str                        # 'completed' | 'early_stopped' | 'cancelled'
    epochs_completed: int
    global_step: int
    monitor: str                       # the metric that picks the best epoch
    best_metric: float | None
    best_epoch: int | None
    history: list[dict[str, Any]]      # one metrics dict per validated epoch
    weights_path: Path | None          # best weights (None if no epoch finished)
    checkpoint_path: Path | None       # last resumable checkpoint
    messages: list[str] = field(default_factory=list)   # for the execution log: weights origin, skipped files
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weights_path"] = str(self.weights_path) if self.weights_path else None
        d["checkpoint_path"] = str(self.checkpoint_path) if self.checkpoint_path else None
        return d


def resolve_device(setting: str, rank: int = 0) -> torch.device:
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainingError(f"device: {setting} was asked for but no CUDA device is available")
        if setting == "cuda":
            return torch.device("cuda", rank % torch.cuda.device_count())
        idx = int(setting.split(":")[1])
        if idx >= torch.cuda.device_count():
            raise TrainingError(f"device: {setting} does not exist ({torch.cuda.device_count()} CUDA device(s))")
        return torch.device("cuda", idx)
    if setting == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise TrainingError("device: mps was asked for but is not available")
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def load_datasets(task: str, data_path: str | Path, config: dict[str, Any], num_workers: int):
    """(labels, train_set, val_set) from the layout; empty subsets fail here, at once."""
    labels = read_labels(data_path)
    if not labels:
        raise TrainingError(f"{data_path}/labels.json lists no labels: at least one class is needed")
    subsets = {}
    for subset in ("train", "validation"):
        entries = read_layout(data_path, subset)
        if not entries:
            raise TrainingError(f"the '{subset}' subset is empty ({Path(data_path) / subset}): "
                                f"assign some items to '{subset}' before training")
        subsets[subset] = entries
    size = config["image_size"]
    cache = mldata.should_cache(config["cache_images"], sum(map(len, subsets.values())), size, num_workers)
    augment = {"flip": config["augment_flip"], "color_jitter": config["augment_color_jitter"],
               "random_resized_crop": config["augment_random_resized_crop"]}
    cls = mldata.DATASETS[task]
    train_set = cls(subsets["train"], labels, size, train=True, augment=augment, cache=cache)
    val_set = cls(subsets["validation"], labels, size, train=False, cache=cache)
    for name, ds in (("train", train_set), ("validation", val_set)):
        if len(ds) == 0:
            raise TrainingError(f"none of the {len(subsets[name])} items of the '{name}' subset has a label "
                                f"of {labels}: nothing to train on")
    return labels, train_set, val_set


def train(task: str, data_path: str | Path, output_path: str | Path, config: dict[str, Any] | None = None,
          callbacks: Iterable[Callback] = (), resume_from: str | Path | None = None) -> TrainResult:
    """Train a `task` model ('classification' | 'detection' | 'instance_segmentation' |
    'semantic_segmentation') on the layout at `data_path`."""
    config = validate_config(schema_for(task, (config or {}).get("arch")), config)
    device = resolve_device(config["device"])
    workers = mldata.resolve_num_workers(config["num_workers"], device.type)
    labels, train_set, val_set = load_datasets(task, data_path, config, workers)
    trainer = Trainer(task, config, labels, train_set, val_set, output_path, callbacks, device=device)
    return trainer.fit(resume_from=resume_from)


class Trainer:
    """One training run. Lower-level than `train`: takes datasets (or a model) directly, e.g. for the bench."""

    def __init__(self, task: str, config: dict[str, Any], labels: list[str], train_set, val_set,
                 output_path: str | Path, callbacks: Iterable[Callback] = (), *, model: TaskModel | None = None,
                 device: torch.device | None = None, rank: int = 0, world_size: int = 1):
        self.task = task
        self.config = config
        self.labels = list(labels)
        self.train_set, self.val_set = train_set, val_set
        self.output_path = Path(output_path)
        self.rank, self.world_size = rank, world_size
        self.is_main = rank == 0
        self.device = device or resolve_device(config["device"], rank)
        self.epochs = int(config["epochs"])
        self.monitor = MONITOR[task]
        self.global_step = 0
        self.epoch = 0
        self.best_metric: float | None = None
        self.best_epoch: int | None = None
        self.history: list[dict[str, Any]] = []
        self.messages: list[str] = []
        self._stop_reason: str | None = None
        self._warned: set[str] = set()
        self._resume_point = (0, 0)          # (epoch, batches done in it): where a checkpoint resumes
        self.resumed_at: tuple[int, int, int] | None = None   # (epoch, batches done, step) of a resumed run
        self._epoch_loss = [0.0, 0]          # running (sum, count) of the epoch's train loss
        self._pending_rng: dict | None = None
        self._saved_at: tuple | None = None
        self._steps_per_epoch = 0
        self._started = False
        self._early_warnings: list[str] = []
        self._any_nan = False
        self.weights_path = self.output_path / "weights.pt"
        self.checkpoint_path = self.output_path / "checkpoints" / "last.pt"
        builtins: list[Callback] = [ModelCheckpoint(config["checkpoint_every"])]
        if config["early_stopping_patience"] > 0:
            builtins.append(EarlyStopping(config["early_stopping_patience"]))
        self.callbacks = CallbackList(builtins + list(callbacks) if self.is_main else [])
        for ds in (train_set, val_set):
            dropped = getattr(ds, "dropped", [])
            if dropped:
                self.warn(f"{len(dropped)} item(s) without a usable label left out, e.g. {dropped[0]}")
        if model is None:
            seed_everything(config["seed"])
            model, message = build_model(config["arch"], len(labels), image_size=config["image_size"],
                                         pretrained=config["pretrained"],
                                         pretrained_path=config["pretrained_path"] or None, labels=self.labels)
            if "random initialisation" in message and (config["pretrained"] or config["pretrained_path"]):
                self.warn(message)   # asked for pretrained weights and did not get them
            else:
                self.messages.append(message)
        self.model = model

    # -- API for callbacks -------------------------------------------------------------------------

    @property
    def steps_per_epoch(self) -> int:
        return self._steps_per_epoch

    def request_stop(self, reason: str = "cancelled") -> None:
        """Ask the loop to stop after the current batch (cancel) or after this epoch (early stop)."""
        if self._stop_reason is None:
            self._stop_reason = reason

    def resume_description(self) -> str:
        """Where a resumed run continues, for its log: 'resumed from epoch 2/5 (batch 4 of 11), step 15'."""
        if self.resumed_at is None:
            return "started from the beginning"
        epoch, batches, step = self.resumed_at
        if epoch >= self.epochs:
            return f"resumed after the last epoch ({self.epochs}), step {step}: nothing left to train"
        if batches == 0:
            where = "its start"
        elif batches >= self.steps_per_epoch:
            where = "its validation"
        else:
            where = f"batch {batches + 1} of {self.steps_per_epoch}"
        return f"resumed from epoch {epoch + 1}/{self.epochs} ({where}), step {step}"

    def warn(self, message: str) -> None:
        if message in self._warned:
            return
        self._warned.add(message)
        self.messages.append(message)
        if not self._started:
            self._early_warnings.append(message)   # told to the callbacks right after on_train_start
        elif self.is_main:
            self._call("on_warning", message)
        else:
            log.warning("rank %d: %s", self.rank, message)

    # -- setup -----------------------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg = self.config
        dev = self.device
        on_cuda = dev.type == "cuda"
        if on_cuda:
            torch.cuda.set_device(dev)
            torch.backends.cudnn.benchmark = True   # fixed input sizes: let cuDNN pick its fastest kernels
        self.model.to(dev)
        self.channels_last = bool(cfg["channels_last"]) and on_cuda
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        amp = cfg["mixed_precision"] if on_cuda else "none"
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16 if amp == "bf16" else torch.float16)) \
            if amp != "none" else contextlib.nullcontext
        self.scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
        self.train_model: torch.nn.Module = self.model
        if self.world_size > 1:
            self.train_model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[dev.index] if on_cuda else None)
        if cfg.get("compile") and on_cuda:
            if self.task == "classification":
                self.train_model = torch.compile(self.train_model)
            else:
                self.warn(f"compile is used for classification models only: this {self.task.replace('_', ' ')} "
                          f"run is not compiled")

        workers = mldata.resolve_num_workers(cfg["num_workers"], dev.type, self.world_size)
        spec = mldata.LoaderSpec(cfg["batch_size"], workers, pin_memory=on_cuda)
        collate = mldata.collate_for(self.task)
        self.sampler = mldata.ResumableSampler(self.train_set, self.world_size, self.rank, shuffle=True,
                                               seed=cfg["seed"])
        self.train_loader = mldata.make_loader(self.train_set, self.sampler, spec, collate, train=True)
        self._steps_per_epoch = len(self.train_loader)
        self.val_loader = mldata.make_loader(self.val_set, None, spec, collate, train=False) if self.is_main else None
        self._sources = {e.name: e.source for e in getattr(self.train_set, "entries", [])}
        self.optimizer = self._make_optimizer()
        self.scheduler = self._make_scheduler()
        # reading the loss every step stalls a GPU queue: on CUDA the loop reads step S after queuing S+1
        self._lag = on_cuda and self.world_size == 1

    def _make_optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        decay, no_decay = [], []
        for p in self.model.parameters():
            if p.requires_grad:
                (decay if p.ndim > 1 else no_decay).append(p)  # no decay on biases and norm weights
        groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
        lr, mom = cfg["learning_rate"], cfg["momentum"]
        if cfg["optimizer"] == "sgd":
            cls, kwargs = torch.optim.SGD, {"momentum": mom, "nesterov": mom > 0}
        else:
            cls = torch.optim.AdamW if cfg["optimizer"] == "adamw" else torch.optim.Adam
            kwargs = {"betas": (mom, 0.999)}
        try:  # one fused kernel: ~5x faster than the per-tensor loop for AdamW on a CPU, and less launches on a GPU
            return cls(groups, lr=lr, fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):
            return cls(groups, lr=lr, **kwargs)

    def _make_scheduler(self):
        kind = self.config["scheduler"]
        total = max(1, self.epochs * self.steps_per_epoch)
        opt = self.optimizer
        if kind == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        if kind == "step":
            return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, total // 3), gamma=0.1)
        if kind == "onecycle":
            mom = self.config["momentum"]
            return torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=self.config["learning_rate"], total_steps=total, pct_start=0.2,
                base_momentum=min(0.85, mom), max_momentum=mom, div_factor=20, final_div_factor=200)
        return None

    # -- the loop --------------------------------------------------------------------------------------

    def fit(self, resume_from: str | Path | None = None) -> TrainResult:
        t0 = time.perf_counter()
        self._setup()
        if resume_from is not None:
            self._load_checkpoint(resume_from)
            self.resumed_at = (*self._resume_point, self.global_step)
            log.info("%s (checkpoint %s)", self.resume_description(), resume_from)
        start_epoch, skip = self._resume_point
        status = "completed"
        self.callbacks.bind(self)
        try:
            self._call("on_train_start", self)
            self._started = True
            for message in self._early_warnings:
                self._call("on_warning", message)
            for epoch in range(start_epoch, self.epochs):
                self.epoch = epoch
                if not (skip and self._pending_rng is not None):
                    self._pending_rng = None
                    self._epoch_loss = [0.0, 0]
                    seed_everything(self.config["seed"] * 1_000_003 + epoch)
                self.sampler.set_epoch(epoch)
                self.sampler.set_start(skip * self.config["batch_size"])
                self._call("on_epoch_start", epoch)
                self._guard()
                t_epoch = time.perf_counter()
                n_images = self._train_epoch(epoch, skip)
                skip = 0
                self._end_of_epoch(epoch, n_images, time.perf_counter() - t_epoch)
                if self._sync_flags(stop=self._stop_reason is not None):   # every rank leaves together
                    raise StopTraining(self._stop_reason or "cancelled")
        except StopTraining as stop:
            status = self._stop_reason or stop.reason
            if self.is_main and self._saved_at != (self._resume_point, self.global_step):
                self.save_checkpoint()
        except BaseException as exc:
            self.callbacks.call_quietly("on_exception", exc)
            raise
        result = TrainResult(
            status=status,
            epochs_completed=self._resume_point[0],
            global_step=self.global_step,
            monitor=self.monitor,
            best_metric=self.best_metric,
            best_epoch=self.best_epoch,
            history=list(self.history),
            weights_path=self.weights_path if self.weights_path.exists() else None,
            checkpoint_path=self.checkpoint_path if self.checkpoint_path.exists() else None,
            messages=list(self.messages),
            duration_s=time.perf_counter() - t0,
        )
        self._call("on_train_end", result)
        return result

    def _call(self, hook: str, *args: Any) -> None:
        """Run a hook; a callback raising StopTraining becomes a stop request honoured at the next check."""
        try:
            self.callbacks.call(hook, *args)
        except StopTraining as stop:
            self.request_stop(stop.reason)

    def _guard(self, loss_value: float | None = None, epoch: int = 0, step: int = 0) -> None:
        """A check point every rank passes together: NaN loss fails the run, a stop request stops it."""
        bad = loss_value is not None and not math.isfinite(loss_value)
        stop = self._sync_flags(stop=self._stop_reason is not None, nan=bad)
        if bad or self._any_nan:
            what = "NaN" if bad and math.isnan(loss_value) else "infinite" if bad else "NaN (on another rank)"
            raise TrainingError(f"loss became {what} at epoch {epoch} step {step}: try a lower learning_rate "
                                f"(now {self.config['learning_rate']:g}) or another optimizer")
        if stop:
            self.request_stop("cancelled")   # asked on rank 0, where the callbacks run
            raise StopTraining(self._stop_reason)

    def _sync_flags(self, stop: bool = False, nan: bool = False) -> bool:
        """Across ranks: does any ask to stop / see a NaN loss (-> self._any_nan)? One tiny all-reduce."""
        self._any_nan = nan
        if self.world_size == 1 or not dist.is_initialized():
            return stop
        device = self.device if dist.get_backend() == "nccl" else "cpu"
        flags = torch.tensor([float(stop), float(nan)], device=device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        self._any_nan = bool(flags[1] > 0)
        return bool(flags[0] > 0)

    def _train_epoch(self, epoch: int, skip: int) -> int:
        model = self.train_model
        model.train()
        batches_done = skip
        n_images = 0
        pending: tuple[int, torch.Tensor] | None = None
        detection = self.task in BOX_TASKS
        batches = iter(self.train_loader)   # draws the loader's base seed from the RNG: restore after it
        if self._pending_rng is not None:
            _set_rng_state(self._pending_rng)
            self._pending_rng = None
        for batch in batches:
            for name in batch.skipped:
                self.warn(f"skipped unreadable image {name} ({self._sources.get(name, name)})")
            if len(batch) < 2 and len(self.train_set) > 1:  # batch-norm needs two; all unreadable, or a ragged tail
                batches_done += 1
                self._resume_point = (epoch, batches_done)
                continue
            images = batch.images.to(self.device, non_blocking=True)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            targets = _to_device(batch.targets, self.device)
            step = self.global_step + 1
            with self.autocast():
                loss = model(images, targets)
            loss_value = None if self._lag else float(loss.detach())
            self._guard(loss_value, epoch, step)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
                if detection:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                loss.backward()
                if detection:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
                self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            self.global_step = step
            batches_done += 1
            n_images += len(batch)
            self._resume_point = (epoch, batches_done)
            if self._lag:  # read step S's loss only once step S+1 is queued
                if pending is not None:
                    self._report(*pending, epoch)
                pending = (step, loss.detach())
            else:
                self._report(step, loss_value, epoch)
            if self.world_size == 1 and self._stop_reason:
                if pending is not None:   # step S+1 is taken and in the checkpoint: its loss is reported too
                    self._report(*pending, epoch)
                raise StopTraining(self._stop_reason)
        if pending is not None:
            self._report(*pending, epoch)
        return n_images

    def _report(self, step: int, loss: torch.Tensor | float, epoch: int) -> None:
        value = float(loss)
        if isinstance(loss, torch.Tensor) and not math.isfinite(value):  # lagged read: check it here
            self._guard(value, epoch, step)
        self._epoch_loss[0] += value
        self._epoch_loss[1] += 1
        self._call("on_train_batch_end", step, value)

    def _end_of_epoch(self, epoch: int, n_images: int, train_time: float) -> None:
        """Rank 0: validate, keep the best, report. A cancel during validation leaves the epoch open."""
        if not self.is_main:
            return
        val = self._validate()
        if val is None:
            return  # cancelled mid-validation: the checkpoint resumes at this epoch's validation
        metrics: dict[str, Any] = {"epoch": epoch, "step": self.global_step}
        total, count = self._epoch_loss
        metrics["train_loss"] = total / count if count else float("nan")
        metrics.update(val)
        value = metrics[self.monitor]
        if self._better(value, metrics):
            self.best_metric, self.best_epoch = value, epoch
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        metrics["epoch_time_s"] = round(train_time, 3)
        metrics["train_images_per_s"] = round(n_images * self.world_size / train_time, 1) if train_time > 0 else 0.0
        self.history.append(metrics)
        self._resume_point = (epoch + 1, 0)
        self._call("on_validation_end", epoch, metrics)
        self._call("on_epoch_end", epoch, metrics)

    def _better(self, value: float, metrics: dict[str, Any]) -> bool:
        """Whether this epoch beats the best so far: a higher monitored metric, or the same one at a lower
        validation loss (a small validation set saturates: 1.0 accuracy from an early epoch on, while the loss
        still says which epoch fits it better)."""
        if self.best_metric is None or value > self.best_metric:
            return True
        if value < self.best_metric:
            return False
        best = next((h for h in self.history if h.get("epoch") == self.best_epoch), None)
        loss, best_loss = metrics.get("val_loss"), (best or {}).get("val_loss")
        return loss is not None and best_loss is not None and loss == loss and loss < best_loss   # NaN is no better

    @torch.no_grad()
    def _validate(self) -> dict[str, float] | None:
        model = unwrap(self.model)
        model.eval()
        loss_sum, n = 0.0, 0
        preds: list[Any] = []
        gts: list[Any] = []
        confusion = np.zeros((len(self.labels) + 1,) * 2, np.int64)   # semantic: background + labels
        for batch in self.val_loader:
            if self._stop_reason:
                return None
            if len(batch) == 0:
                continue
            images = batch.images.to(self.device, non_blocking=True)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            targets = _to_device(batch.targets, self.device)
            with self.autocast():
                loss, out = model.evaluate(images, targets)
            loss_sum += float(loss) * len(batch)
            n += len(batch)
            if self.task == "classification":
                preds.append(out.argmax(1).cpu().numpy())
                gts.append(batch.targets.numpy())
            elif self.task == "semantic_segmentation":
                confusion += _confusion(batch.targets.numpy(), out.argmax(1).cpu().numpy(), len(confusion))
            elif self.task == "instance_segmentation":   # masks as RLE at once: S x S floats per instance add up
                preds.extend(_with_rles({k: v.float().cpu().numpy() for k, v in o.items()}) for o in out)
                gts.extend(_with_rles({k: v.numpy() for k, v in t.items()}) for t in batch.targets)
            else:
                preds.extend({k: v.float().cpu().numpy() for k, v in o.items()} for o in out)
                gts.extend({k: v.numpy() for k, v in t.items()} for t in batch.targets)
        metrics = {"val_loss": loss_sum / n if n else float("nan")}
        if self.task == "classification":
            metrics["val_accuracy"] = accuracy(np.concatenate(preds), np.concatenate(gts)) if preds else 0.0
        elif self.task == "semantic_segmentation":
            m = semantic_scores(confusion)
            metrics.update({"val_miou": m["miou"], "val_pixel_accuracy": m["pixel_accuracy"]})
        elif self.task == "instance_segmentation":
            size = int(self.config["image_size"])
            m = instance_map(preds, gts, len(self.labels), (size, size))
            metrics.update({"val_mask_map50": m["mask_map50"], "val_mask_map": m["mask_map"], "val_map50": m["map50"]})
        else:
            m = detection_map(preds, gts, len(self.labels))
            metrics.update({"val_map50": m["map50"], "val_map75": m["map75"], "val_map": m["map"]})
        return metrics

    # -- checkpoints ---------------------------------------------------------------------------------

    def save_weights(self) -> Path:
        extra = {"epoch": self.best_epoch, "metric": {self.monitor: self.best_metric}, "global_step": self.global_step}
        _atomic_save(weights_payload(self.model, self.labels, self.config, extra), self.weights_path)
        self._call("on_checkpoint", self.weights_path, "best")
        return self.weights_path

    def save_checkpoint(self) -> Path:
        epoch, batches = self._resume_point
        state = {
            "format": CHECKPOINT_FORMAT,
            "task": self.task,
            "arch": self.config["arch"],
            "labels": self.labels,
            "image_size": self.config["image_size"],
            "config": dict(self.config),
            "model": unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "epoch": epoch,
            "batch_in_epoch": batches,
            "global_step": self.global_step,
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "epoch_loss": list(self._epoch_loss),
            "rng": _get_rng_state(),
        }
        _atomic_save(state, self.checkpoint_path)
        self._saved_at = (self._resume_point, self.global_step)
        self._call("on_checkpoint", self.checkpoint_path, "last")
        return self.checkpoint_path

    def _load_checkpoint(self, path: str | Path) -> None:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise TrainingError(f"resume_from: {path} does not exist") from None
        except Exception as exc:  # noqa: BLE001
            raise TrainingError(f"resume_from: cannot read checkpoint {path}: {exc}") from exc
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise TrainingError(f"resume_from: {path} is not a Model Desk training checkpoint")
        if ckpt["arch"] != self.config["arch"] or ckpt["task"] != self.task:
            raise TrainingError(f"resume_from: {path} is a {ckpt['task']} {ckpt['arch']} checkpoint, "
                                f"this run trains a {self.task} {self.config['arch']}")
        unwrap(self.model).load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt.get("scheduler"):
            self.scheduler.load_state_dict(ckpt["scheduler"])
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.global_step = int(ckpt["global_step"])
        self.best_metric, self.best_epoch = ckpt["best_metric"], ckpt["best_epoch"]
        self.history = list(ckpt["history"])
        self._epoch_loss = list(ckpt.get("epoch_loss", [0.0, 0]))
        self._resume_point = (int(ckpt["epoch"]), int(ckpt["batch_in_epoch"]))
        self._pending_rng = ckpt["rng"] if self._resume_point[1] else None


def _confusion(gt: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """The pixel confusion matrix of a batch (rows ground truth), 255 in the ground truth left out."""
    from desktop_app.evaluation.semantic import confusion

    return confusion(gt, pred, n)


def _with_rles(item: dict[str, np.ndarray]) -> dict[str, Any]:
    """An instance prediction / target with its masks replaced by their COCO RLE ('rles')."""
    out: dict[str, Any] = {k: v for k, v in item.items() if k != "masks"}
    out["rles"] = mask_rles(item["masks"]) if "masks" in item else []
    return out


def _to_device(targets: Any, device: torch.device) -> Any:
    if isinstance(targets, torch.Tensor):
        return targets.to(device, non_blocking=True)
    return [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _get_rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
