"""Data-parallel training over N processes (torch.multiprocessing spawn + DistributedSampler + DDP).

Rank 0 validates, writes checkpoints and reports; its callback events travel over a queue to the caller's
process, where the caller's callbacks run (so a GUI or job runner keeps its callbacks in its own process).
`request_stop` / a callback raising StopTraining in the caller sets an Event that every rank sees within
one batch (the ranks agree on it with a tiny all-reduce per step, so no rank is left waiting).
"""

from __future__ import annotations

import datetime
import os
import queue
import socket
import traceback
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from desktop_app.ml import data as mldata
from desktop_app.ml.callbacks import Callback, CallbackList, Cancellation, HookForwarder, StopTraining
from desktop_app.ml.errors import TrainingError
from desktop_app.ml.hparams import schema_for, validate_config
from desktop_app.ml.trainer import Trainer, TrainResult, load_datasets, resolve_device


def train_distributed(task: str, data_path: str | Path, output_path: str | Path, config: dict[str, Any] | None = None,
                      callbacks: Iterable[Callback] = (), resume_from: str | Path | None = None, *,
                      world_size: int = 2, backend: str = "gloo") -> TrainResult:
    """Like `trainer.train`, over `world_size` processes. backend: 'gloo' (CPU) or 'nccl' (one GPU per rank)."""
    config = validate_config(schema_for(task, (config or {}).get("arch")), config)
    if world_size < 1:
        raise TrainingError(f"world_size: expected at least 1, got {world_size}")
    if backend not in ("gloo", "nccl"):
        raise TrainingError(f"backend: expected gloo or nccl, got {backend!r}")
    if backend == "nccl" and torch.cuda.device_count() < world_size:
        raise TrainingError(f"backend nccl needs {world_size} GPUs, {torch.cuda.device_count()} available")
    if backend == "gloo" and config["device"] == "auto":
        config["device"] = "cpu"
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    stop = ctx.Event()
    port = _free_port()
    procs = mp.spawn(_worker, nprocs=world_size, join=False,
                     args=(world_size, backend, port, task, str(data_path), str(output_path), config,
                           str(resume_from) if resume_from else None, events, stop))
    proxy = RemoteTrainer(config, stop, Path(output_path))
    cbs = CallbackList(callbacks)
    cbs.bind(proxy)
    result: TrainResult | None = None
    error: tuple[str, str] | None = None
    finished = False
    while True:
        try:
            kind, payload = events.get(timeout=0.2)
        except queue.Empty:
            if finished:
                break
            try:
                finished = procs.join(timeout=0)
            except mp.ProcessRaisedException as exc:
                error = _drain_errors(events, error)
                raise _as_error(error, exc) from None
            except mp.ProcessExitedException as exc:
                raise TrainingError(f"a training process died: {exc}") from None
            continue
        if kind == "result":
            result = payload
            _dispatch(cbs, proxy, stop, "on_train_end", (result,), {})
        elif kind == "error":
            error = payload
        else:
            hook, args, state = kind, payload[0], payload[1]
            _dispatch(cbs, proxy, stop, hook, args, state)
    if result is None:
        raise TrainingError(error[1] if error else "distributed training ended without a result")
    return result


class RemoteTrainer:
    """What the caller's callbacks see as `self.trainer`: rank 0's state, and a way to stop every rank."""

    def __init__(self, config: dict[str, Any], stop_event, output_path: Path):
        self.config = config
        self.epochs = int(config["epochs"])
        self.output_path = output_path
        self.steps_per_epoch = 0
        self.global_step = 0
        self.best_epoch: int | None = None
        self.best_metric: float | None = None
        self.monitor = ""
        self._stop = stop_event

    def request_stop(self, reason: str = "cancelled") -> None:
        self._stop.set()

    def warn(self, message: str) -> None:  # EarlyStopping passed to the caller's side calls this
        pass


def _dispatch(cbs: CallbackList, proxy: RemoteTrainer, stop, hook: str, args: tuple, state: dict) -> None:
    for k, v in state.items():
        setattr(proxy, k, v)
    try:
        cbs.call(hook, *args)
    except StopTraining:
        stop.set()


class _Forwarder(HookForwarder):
    """Over the queue to the caller's process (the result follows fit)."""

    def __init__(self, events):
        self.events = events

    def _send(self, hook: str, *args: Any) -> None:
        self.events.put((hook, (args, self._state())))

    def on_exception(self, exc):
        self._send("on_exception", exc if _picklable(exc) else RuntimeError(repr(exc)))


def _picklable(obj: Any) -> bool:
    import pickle

    try:
        pickle.dumps(obj)
        return True
    except Exception:  # noqa: BLE001
        return False


def _worker(rank: int, world_size: int, backend: str, port: int, task: str, data_path: str, output_path: str,
            config: dict[str, Any], resume_from: str | None, events, stop) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    cores = mldata.available_cores()
    torch.set_num_threads(max(1, cores // world_size))
    dist.init_process_group(backend, rank=rank, world_size=world_size, timeout=datetime.timedelta(hours=2))
    try:
        device = resolve_device(config["device"], rank)
        workers = mldata.resolve_num_workers(config["num_workers"], device.type, world_size)
        labels, train_set, val_set = load_datasets(task, data_path, config, workers)
        cbs = [_Forwarder(events), Cancellation(stop)] if rank == 0 else []
        trainer = Trainer(task, config, labels, train_set, val_set, output_path, cbs, device=device,
                          rank=rank, world_size=world_size)
        result = trainer.fit(resume_from=resume_from)
        if rank == 0:
            events.put(("result", result))
    except TrainingError as exc:
        if rank == 0:
            events.put(("error", ("TrainingError", str(exc))))
        raise
    except BaseException:
        if rank == 0:
            events.put(("error", ("Exception", traceback.format_exc())))
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _drain_errors(events, error: tuple[str, str] | None) -> tuple[str, str] | None:
    """Rank 0's own account of a failure may still sit in the queue when spawn reports it."""
    while True:
        try:
            kind, payload = events.get(timeout=0.5)
        except queue.Empty:
            return error
        if kind == "error":
            error = payload


def _as_error(error: tuple[str, str] | None, exc: BaseException) -> BaseException:
    if error and error[0] == "TrainingError":
        return TrainingError(error[1])
    return RuntimeError(f"distributed training failed:\n{exc}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
