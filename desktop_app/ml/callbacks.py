"""Training callbacks: the loop calls these no-op hooks; progress, checkpoints, early stopping and cancel live here.

Hooks run in the training process on rank 0 (under `train_distributed` they run in the calling process,
fed from rank 0). Every callback gets `self.trainer` before `on_train_start`; it offers `request_stop(reason)`,
`config`, `epochs`, `steps_per_epoch`, `global_step` and `output_path`. Raising `StopTraining` from any hook
also stops the run (cleanly, with a resumable checkpoint); any other exception fails it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

log = logging.getLogger("desktop_app.ml")


class StopTraining(Exception):
    """Raise from a callback to stop the run now; the result's status is the given reason."""

    def __init__(self, reason: str = "cancelled"):
        super().__init__(reason)
        self.reason = reason


class Callback:
    """Base class: override the hooks you need. Epochs are 0-based; steps count optimiser steps from 1."""

    trainer: Any = None

    def on_train_start(self, trainer: Any) -> None: ...
    def on_epoch_start(self, epoch: int) -> None: ...
    def on_train_batch_end(self, step: int, loss: float) -> None: ...
    def on_validation_end(self, epoch: int, metrics: dict[str, Any]) -> None: ...
    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None: ...
    def on_checkpoint(self, path: Path, kind: str) -> None: ...        # kind: 'last' | 'best'
    def on_warning(self, message: str) -> None: ...
    def on_exception(self, exc: BaseException) -> None: ...
    def on_train_end(self, result: Any) -> None: ...


HOOKS = ("on_train_start", "on_epoch_start", "on_train_batch_end", "on_validation_end", "on_epoch_end",
         "on_checkpoint", "on_warning", "on_exception", "on_train_end")


class CallbackList:
    """Calls each hook on every callback in order. Exceptions propagate (StopTraining included)."""

    def __init__(self, callbacks: Iterable[Callback] = ()):
        self.callbacks = list(callbacks)

    def bind(self, trainer: Any) -> None:
        for cb in self.callbacks:
            cb.trainer = trainer

    def call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def call_quietly(self, hook: str, *args: Any) -> None:
        """For on_exception / on_train_end after a failure: a failing callback must not hide the cause."""
        for cb in self.callbacks:
            try:
                getattr(cb, hook)(*args)
            except Exception:  # noqa: BLE001 - logged, the original error matters more
                log.exception("callback %s.%s failed", type(cb).__name__, hook)


class Cancellation(Callback):
    """Stops the run when `should_cancel()` is true (or the given Event is set); checked after every batch.

    `should_cancel` may be a `threading.Event`, a `multiprocessing.Event` or any zero-argument callable,
    e.g. one that looks at a job record or a file. Cancel takes effect within one training batch.
    """

    def __init__(self, should_cancel: Callable[[], bool] | Any):
        if hasattr(should_cancel, "is_set"):
            self._check = should_cancel.is_set
        elif callable(should_cancel):
            self._check = should_cancel
        else:
            raise TypeError("should_cancel must be callable or an Event")

    def _poll(self, *_args: Any) -> None:
        if self._check():
            self.trainer.request_stop("cancelled")

    on_epoch_start = _poll
    on_train_batch_end = _poll
    on_validation_end = _poll


class EarlyStopping(Callback):
    """Stops when the monitored validation metric has not improved for `patience` epochs.

    Stateless over the trainer's best_epoch, so it survives a resume unchanged.
    """

    def __init__(self, patience: int):
        self.patience = int(patience)

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        best = self.trainer.best_epoch
        if self.patience > 0 and best is not None and epoch - best >= self.patience:
            self.trainer.warn(f"early stopping: no better {self.trainer.monitor} for {self.patience} epochs "
                              f"(best at epoch {best})")
            self.trainer.request_stop("early_stopped")


class ModelCheckpoint(Callback):
    """Best weights to output_path/weights.pt on improvement; a resumable checkpoint every N epochs."""

    def __init__(self, every_n_epochs: int = 1):
        self.every = max(1, int(every_n_epochs))

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        t = self.trainer
        if t.best_epoch == epoch:
            t.save_weights()
        if (epoch + 1) % self.every == 0 or epoch + 1 == t.epochs:
            t.save_checkpoint()


class MetricsRecorder(Callback):
    """Keeps everything reported, in memory: for tests, notebooks and the bench."""

    def __init__(self) -> None:
        self.losses: list[tuple[int, float]] = []
        self.metrics: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.checkpoints: list[tuple[Path, str]] = []
        self.batch_times: list[float] = []
        self.result: Any = None

    def on_train_batch_end(self, step: int, loss: float) -> None:
        self.losses.append((step, loss))
        self.batch_times.append(time.perf_counter())

    def on_validation_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        self.metrics.append(dict(metrics))

    def on_checkpoint(self, path: Path, kind: str) -> None:
        self.checkpoints.append((Path(path), kind))

    def on_warning(self, message: str) -> None:
        self.warnings.append(message)

    def on_train_end(self, result: Any) -> None:
        self.result = result


class LoggingCallback(Callback):
    """Progress to the `desktop_app.ml` logger: one line per epoch, every `every_n_steps` steps."""

    def __init__(self, every_n_steps: int = 50, logger: logging.Logger | None = None):
        self.every = every_n_steps
        self.log = logger or log
        self._t0 = 0.0

    def on_train_start(self, trainer: Any) -> None:
        self._t0 = time.perf_counter()
        self.log.info("training %s for %d epochs, %d steps each", trainer.config.get("arch"), trainer.epochs,
                      trainer.steps_per_epoch)

    def on_train_batch_end(self, step: int, loss: float) -> None:
        if self.every and step % self.every == 0:
            self.log.info("step %d loss %.4f", step, loss)

    def on_validation_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())
        self.log.info("epoch %d: %s (%.0f s)", epoch, shown, time.perf_counter() - self._t0)

    def on_warning(self, message: str) -> None:
        self.log.warning(message)


class ThreadEventCancel(Cancellation):
    """Convenience: `cancel = ThreadEventCancel(); ...; cancel.set()` from another thread."""

    def __init__(self) -> None:
        self.event = threading.Event()
        super().__init__(self.event)

    def set(self) -> None:
        self.event.set()


class HookForwarder(Callback):
    """On rank 0: every training hook goes to another process as `_send(hook, *args)`, with the trainer's state
    (`_state()`) for the stand-in trainer there; a subclass says how it travels (a queue, a Ray actor)."""

    def _send(self, hook: str, *args: Any) -> None:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        t = self.trainer
        return {"steps_per_epoch": t.steps_per_epoch, "global_step": t.global_step, "best_epoch": t.best_epoch,
                "best_metric": t.best_metric, "monitor": t.monitor}

    def on_train_start(self, trainer):
        self._send("on_train_start", None)

    def on_epoch_start(self, epoch):
        self._send("on_epoch_start", epoch)

    def on_train_batch_end(self, step, loss):
        self._send("on_train_batch_end", step, loss)

    def on_validation_end(self, epoch, metrics):
        self._send("on_validation_end", epoch, metrics)

    def on_epoch_end(self, epoch, metrics):
        self._send("on_epoch_end", epoch, metrics)

    def on_checkpoint(self, path, kind):
        self._send("on_checkpoint", path, kind)

    def on_warning(self, message):
        self._send("on_warning", message)
