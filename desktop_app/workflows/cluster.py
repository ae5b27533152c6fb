"""Training on a Ray cluster: Ray Train's TorchTrainer runs ml.trainer.Trainer with DDP over N Ray workers.

The job's worker process is the Ray driver: it lays the data out as a local job does, puts the snapshot where the
workers read it (the cluster_shared_path setting, else this machine's catalog folder: a cluster on this machine),
and runs TorchTrainer. Rank 0 sends the loop's callback events to a small relay actor; the driver drains it and
feeds the same CatalogReporter a local job uses (metrics, progress, cancel). Every rank calls ray.train.report at
the points all ranks pass together (the start of each epoch after the first of an attempt, and the end), rank 0
with its newest checkpoint; Ray keeps them under the run's storage, restarts a failed worker group up to
max_failures times and each restart resumes from the last one. The best weights and the last checkpoint come
back into the job's output folder, and from there into the catalog, as a local run's do.

`ray` is imported here only inside functions: without it the local path never notices this module.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.catalog import Catalog, ModelStatus, scratch
from desktop_app.errors import Cancelled, ValidationError
from desktop_app.ml.callbacks import Callback, HookForwarder
from desktop_app.settings import Settings, check_cluster_address


LOCAL = "local"
MAX_FAILURES = 2                 # worker-group restarts (each resumes from the last reported checkpoint)
FLUSH_S = 0.25                   # rank 0 sends its buffered events at most this often (the reply says: stop?)
CANCEL_GRACE_S = 5.0             # a cancel waits this long for rank 0's last checkpoint (the scheduler's is 8 s)
CHECKPOINT_FILES = ("last.pt", "weights.pt")


# -- the request, resolved where the job is queued ---------------------------------------------------------------

def cluster_request(cluster: Any, *, workers: int | None = None, settings: Settings | None = None) -> dict | None:
    """What a train job's input keeps of its cluster choice: None (train here), True / 'default' (the
    cluster_address setting), 'local' or an address. Refused now, before any job, when it cannot work."""
    if cluster in (None, False, ""):
        return None
    settings = settings or Settings()
    if cluster is True or cluster == "default":
        cluster = settings.get("cluster_address")
        if not cluster:
            raise ValidationError("cluster: no cluster address is set; set cluster_address in Settings (ray://host:"
                                  "port, host:port or local) or pass one")
    if not isinstance(cluster, str):
        raise ValidationError(f"cluster: expected an address (ray://host:port, host:port or local), got {cluster!r}")
    address = check_cluster_address(cluster, "cluster")
    n = settings.get("cluster_workers") if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValidationError(f"cluster workers: expected a whole number >= 1, got {n!r}")
    try:
        importlib.import_module("ray.train.torch")
    except ImportError:
        raise ValidationError("cluster training needs Ray Train on this machine: pip install 'model-desk[cluster]' "
                              "(or pip install 'ray[train]')") from None
    return {"address": address, "workers": n, "shared_path": str(settings.get("cluster_shared_path") or "")}


# -- the driver: the job's worker process ------------------------------------------------------------------------

def train_on_cluster(catalog: Catalog, ex: Any, control: Any) -> dict:
    """The train job's body when its input names a cluster: the local body's steps, the training on Ray."""
    from desktop_app.ml.callbacks import LoggingCallback
    from desktop_app.ml.packages.torchvision_adapter import CatalogReporter, TorchvisionAdapter

    from .train import ResumeCut, setup

    request = ex.input["cluster"]
    model, adapter, output, resumed = setup(catalog, ex, control)
    if not isinstance(adapter, TorchvisionAdapter):
        raise ValidationError(f"package {model.package_name!r} trains with its own code: a cluster runs the "
                              f"built-in trainer only (resnet, mobilenet, tinydet, fasterrcnn models)")
    print(f"training model {model.name} ({model.id}) of package {model.package_name} on the Ray cluster "
          f"{request['address']} ({request['workers']} workers)", flush=True)
    catalog.set_model_status(model.id, ModelStatus.TRAINING)
    adapter.load_from_model(model)
    _root, data, out = adapter.prepare_data(output_path=str(output))
    config = adapter.engine_config()
    parent_weights = adapter.weights_path if not config.get("pretrained_path") else None
    resume_from = output / "checkpoints" / "last.pt"
    if resumed and not resume_from.is_file():
        print("no checkpoint to resume from; starting from the beginning", flush=True)
    staged = stage(Path(data), ex.id, shared=request.get("shared_path") or "", catalog=catalog,
                   weights=parent_weights, checkpoint=output if resumed and resume_from.is_file() else None)
    if staged.weights:
        config["pretrained_path"], config["pretrained"] = str(staged.weights), True   # a clone starts from them
    control.progress(0.0, "starting the Ray workers")

    def callbacks_for_attempt(attempt: int) -> list:
        if attempt > 1:   # a restarted worker group runs the steps after its checkpoint again: drop their points
            adapter.context["resumed_from"] = ResumeCut(catalog, model.id, ex.id, resumed=True).at
        return [CatalogReporter(adapter, resumed=resumed or attempt > 1), LoggingCallback(every_n_steps=50)]

    try:
        result = run_ray_training(request, adapter.task, str(staged.data), config, Path(out), storage=staged.storage,
                                  name=f"model-desk-{ex.id}", resume_folder=staged.checkpoint,
                                  callbacks_for_attempt=callbacks_for_attempt, should_stop=control.should_stop)
    finally:
        staged.cleanup()
    adapter.context["result"] = {k: result.get(k) for k in ("status", "best_metric", "monitor", "best_epoch",
                                                            "epochs_completed", "global_step")}
    if result["status"] == "cancelled" or control.should_stop():
        raise Cancelled("canceled by the user")
    weights = Path(out) / "weights.pt"
    if not weights.is_file():
        raise RuntimeError("training ended without a validated epoch; no weights to keep")
    adapter.load(out)                          # the trained weights are the adapter's now
    adapter.save_to_model(out)
    catalog.set_model_status(model.id, ModelStatus.TRAINED)
    return {"artifacts": [a.filename for a in model.artifacts.list()], **adapter.context["result"],
            "cluster": request["address"], "workers": request["workers"]}


@dataclass
class Staged:
    """Where the workers read the data snapshot, the parent's weights and the folder of a checkpoint to resume
    (checkpoints/last.pt, weights.pt), and where Ray stores the run; `scratch`: what the job removes at its end."""

    data: Path
    storage: Path
    weights: Path | None
    checkpoint: Path | None
    scratch: Path | None

    def cleanup(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def stage(data: Path, execution_id: str, *, shared: str, catalog: Catalog, weights: Path | None = None,
          checkpoint: Path | None = None) -> Staged:
    """Without a shared folder the workers read this machine's paths (a cluster on this machine); with one, the
    snapshot is copied there, links followed (the layout links into the store, which other nodes cannot read)."""
    if not shared:
        return Staged(data, scratch.execution_dir(catalog, execution_id) / "ray", weights, checkpoint, None)
    root = Path(shared) / "model-desk" / execution_id
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(data, root / "data", symlinks=False)
    copied_weights = copied_checkpoint = None
    if weights is not None:
        copied_weights = root / "parent" / "weights.pt"
        copied_weights.parent.mkdir(parents=True)
        shutil.copyfile(weights, copied_weights)
    if checkpoint is not None:       # the job's output folder: checkpoints/last.pt and the best weights.pt
        copied_checkpoint = root / "resume"
        (copied_checkpoint / "checkpoints").mkdir(parents=True)
        for name in ("checkpoints/last.pt", "weights.pt"):
            if (checkpoint / name).is_file():
                shutil.copyfile(checkpoint / name, copied_checkpoint / name)
    print(f"dataset snapshot copied to {root / 'data'} (the cluster_shared_path setting)", flush=True)
    return Staged(root / "data", Path(shared) / "model-desk" / "ray", copied_weights, copied_checkpoint, root)


def connect(address: str, workers: int) -> int:
    """ray.init for an address ('local' starts Ray on this machine: its cores, at least 2 and one per worker);
    returns the CPUs each worker asks for (a local cluster's cores shared out; elsewhere Ray's default, 1)."""
    import ray

    from desktop_app.ml.data import available_cores

    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True, "logging_level": "WARNING"}
    if address == LOCAL:
        cores = available_cores()
        if not ray.is_initialized():
            ray.init(num_cpus=max(2, workers, cores), **options)
        return max(1, cores // workers)
    if not ray.is_initialized():
        ray.init(address=address, **options)
    return 1


def run_ray_training(request: dict, task: str, data: str, config: dict, output: Path, *, storage: Path, name: str,
                     resume_folder: Path | None, callbacks_for_attempt, should_stop) -> dict:
    """Run TorchTrainer and feed rank 0's events to the callbacks callbacks_for_attempt(attempt) returns; the
    best weights and the last checkpoint end in `output`. Returns rank 0's TrainResult as a dict."""
    import ray

    result = _run(request, task, data, config, output, storage=storage, name=name, resume_folder=resume_folder,
                  callbacks_for_attempt=callbacks_for_attempt, should_stop=should_stop)
    # A local cluster stops with its driver, a remote one drops this job's actors. Not on a cancel (Cancelled
    # passes by): that is recorded first, and the process's exit does the same.
    ray.shutdown()
    return result


def _run(request: dict, task: str, data: str, config: dict, output: Path, *, storage: Path, name: str,
         resume_folder: Path | None, callbacks_for_attempt, should_stop) -> dict:
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    started = time.perf_counter()
    run_name = f"{name}-{int(time.time())}"
    workers = int(request["workers"])
    cpus = connect(request["address"], workers)
    device = str(request.get("device") or config.get("device") or "auto")
    use_gpu = _use_gpu("auto" if device == "all" else device)
    worker_config = {**config, "device": "cuda" if use_gpu else "cpu"}
    relay = ray.remote(num_cpus=0)(Relay).remote()
    trainer = TorchTrainer(
        train_loop, train_loop_config={"task": task, "data": data, "config": worker_config, "relay": relay,
                                       "threads": cpus, "resume_folder": str(resume_folder) if resume_folder else None},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker={"CPU": cpus}),
        run_config=RunConfig(name=run_name, storage_path=str(storage),
                             failure_config=FailureConfig(max_failures=MAX_FAILURES),
                             checkpoint_config=CheckpointConfig(num_to_keep=2)))
    outcome: dict[str, Any] = {}

    def fit() -> None:
        try:
            outcome["result"] = trainer.fit()
        except BaseException as exc:  # noqa: BLE001 - handed to the driver's thread, which raises it
            outcome["error"] = exc

    thread = threading.Thread(target=fit, name="ray-fit", daemon=True)
    thread.start()
    driver = Driver(config, output, callbacks_for_attempt, started)
    stop_sent_at: float | None = None
    while True:
        done = not thread.is_alive()
        driver.handle(_pull(relay))
        if done:
            break
        if stop_sent_at is None and (should_stop() or driver.stop_requested.is_set()):
            print("cancel: asking the Ray workers to stop", flush=True)
            relay.stop.remote()
            stop_sent_at = time.monotonic()
        elif stop_sent_at is not None and (driver.ended or time.monotonic() - stop_sent_at > CANCEL_GRACE_S):
            # Rank 0 has reported its last checkpoint (or never will): take it, leave Ray's teardown to the exit.
            newest = newest_checkpoint(storage / run_name)
            if newest is not None:
                bring_back(newest, output)
            print("canceled: the run's last checkpoint is in the job's output" if newest else
                  f"canceled: no checkpoint reported within {CANCEL_GRACE_S:.0f} s", flush=True)
            raise Cancelled("canceled by the user")
        thread.join(FLUSH_S)
    if "error" in outcome:
        raise _training_error(outcome["error"], driver.error)
    final = outcome["result"]
    if final.checkpoint is not None:
        with final.checkpoint.as_directory() as folder:
            bring_back(Path(folder), output)
    shutil.rmtree(storage / run_name, ignore_errors=True)   # its checkpoints are in the job's output now
    if driver.result is None:
        raise RuntimeError(driver.error or "the Ray run ended without a result from rank 0")
    return {**driver.result, "startup_s": driver.startup_s, "attempts": driver.attempt}


def _use_gpu(device: str) -> bool:
    import ray

    if device == "cpu":
        return False
    gpus = ray.cluster_resources().get("GPU", 0)
    if device.startswith("cuda") and gpus < 1:
        raise ValidationError(f"device {device}: the Ray cluster has no GPU (it has {ray.cluster_resources()})")
    return gpus >= 1


def _pull(relay) -> list:
    import ray

    return ray.get(relay.pull.remote())


def bring_back(folder: Path, output: Path) -> None:
    """A reported checkpoint's files into the job's output folder: last.pt (resumable) and weights.pt (best)."""
    for name in CHECKPOINT_FILES:
        src = folder / name
        if src.is_file():
            dest = output / ("checkpoints/last.pt" if name == "last.pt" else name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)


def newest_checkpoint(run: Path) -> Path | None:
    """The newest checkpoint folder Ray stored for a run (its names carry their time), if the driver reads it."""
    found = sorted(p for p in run.glob("checkpoint_*") if (p / "last.pt").is_file()) if run.is_dir() else []
    return found[-1] if found else None


def _training_error(exc: BaseException, rank0_error: str | None) -> BaseException:
    if rank0_error:
        from desktop_app.ml.errors import TrainingError
        return TrainingError(rank0_error)
    return RuntimeError(f"the Ray run failed: {type(exc).__name__}: {exc}")


class Driver:
    """The driver's side of the relay: rank 0's events to this attempt's callbacks, over a stand-in trainer."""

    def __init__(self, config: dict, output: Path, callbacks_for_attempt, started: float):
        from desktop_app.ml.distributed import RemoteTrainer

        self.stop_requested = threading.Event()
        self.proxy = RemoteTrainer(config, self.stop_requested, output)
        self.callbacks_for_attempt = callbacks_for_attempt
        self.started = started
        self.attempt = 0
        self.startup_s: float | None = None
        self.ended = False            # rank 0 made its last report
        self.callbacks = None
        self.result: dict | None = None
        self.error: str | None = None

    def handle(self, events: list) -> None:
        from desktop_app.ml.callbacks import CallbackList, StopTraining

        for hook, args, state in events:
            if hook == "worker":
                rank, pid, node = args
                print(f"ray worker rank {rank} pid {pid} on node {node}", flush=True)
                continue
            if hook == "error":
                self.error = args[0]
                continue
            for k, v in state.items():
                setattr(self.proxy, k, v)
            if hook == "on_train_start":
                self.attempt += 1
                if self.attempt == 1:
                    self.startup_s = time.perf_counter() - self.started
                    print(f"Ray workers started in {self.startup_s:.1f} s; {state.get('resumed')}", flush=True)
                else:
                    print(f"attempt {self.attempt}: the worker group restarted, {state.get('resumed')}", flush=True)
                self.callbacks = CallbackList(self.callbacks_for_attempt(self.attempt))
                self.callbacks.bind(self.proxy)
                args = (self.proxy,)
            if hook == "reported":
                print(f"checkpoint at step {args[0]} reported to Ray", flush=True)
                continue
            if hook == "ended":
                self.ended = True
                continue
            if hook == "result":
                self.result = args[0]
                hook, args = "on_train_end", (args[0],)
            if self.callbacks is None:
                continue
            try:
                self.callbacks.call(hook, *args)
            except StopTraining:
                self.stop_requested.set()


class Relay:
    """A Ray actor between rank 0 and the driver: events one way, the stop flag the other."""

    def __init__(self) -> None:
        self.events: list = []
        self.stopping = False

    def push(self, events: list) -> bool:
        self.events.extend(events)
        return self.stopping

    def pull(self) -> list:
        events, self.events = self.events, []
        return events

    def stop(self) -> None:
        self.stopping = True


# -- the workers: one per Ray train worker -----------------------------------------------------------------------

def train_loop(cfg: dict) -> None:
    """Ray Train's train_loop_per_worker: the same Trainer a local run builds, with DDP over Ray's process group."""
    import socket

    import ray
    import ray.train
    import ray.train.torch

    from desktop_app.ml import data as mldata
    from desktop_app.ml.callbacks import CallbackList
    from desktop_app.ml.errors import TrainingError
    from desktop_app.ml.hparams import schema_for, validate_config
    from desktop_app.ml.trainer import Trainer, load_datasets

    import torch

    context = ray.train.get_context()
    rank, world_size = context.get_world_rank(), context.get_world_size()
    torch.set_num_threads(int(cfg.get("threads") or 1))
    relay = cfg["relay"]
    ray.get(relay.push.remote([("worker", (rank, os.getpid(), socket.gethostname()), {})]))
    config = validate_config(schema_for(cfg["task"], cfg["config"].get("arch")), cfg["config"])
    output = Path(tempfile.mkdtemp(prefix="model-desk-ray-"))
    try:
        device = ray.train.torch.get_device()
        if not Path(cfg["data"], "labels.json").is_file():
            raise TrainingError(f"the dataset snapshot {cfg['data']} cannot be read on node {socket.gethostname()}: "
                                f"set cluster_shared_path to a folder every node reads at the same path")
        workers = mldata.resolve_num_workers(config["num_workers"], device.type, world_size)
        labels, train_set, val_set = load_datasets(cfg["task"], cfg["data"], config, workers)
        resume_from = _restore(output, cfg.get("resume_folder"))
        forwarder = Forwarder(relay) if rank == 0 else None
        reporter = RayReporter(output, rank, forwarder)
        callbacks = [forwarder, reporter] if forwarder else []
        trainer = Trainer(cfg["task"], config, labels, train_set, val_set, output, callbacks, device=device,
                          rank=rank, world_size=world_size)
        if rank != 0:               # the Trainer keeps callbacks on rank 0; every rank must report to Ray
            trainer.callbacks = CallbackList([reporter])
        trainer.fit(resume_from=resume_from)
    except BaseException as exc:
        if rank == 0:
            ray.get(relay.push.remote([("error", (f"{type(exc).__name__}: {exc}",), {})]))
        raise
    finally:
        shutil.rmtree(output, ignore_errors=True)


def _restore(output: Path, resume_folder: str | None) -> Path | None:
    """This attempt's starting checkpoint: Ray's newest reported one (after a restart), else the one the job
    resumes from (a folder with checkpoints/last.pt and weights.pt, as the job's output folder holds them)."""
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            bring_back(Path(folder), output)
    elif resume_folder:
        for name in ("checkpoints/last.pt", "weights.pt"):
            if (Path(resume_folder) / name).is_file():
                (output / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(resume_folder) / name, output / name)
    last = output / "checkpoints" / "last.pt"
    return last if last.is_file() else None


class RayReporter(Callback):
    """ray.train.report on every rank at the points they all pass together (each epoch's start after this
    attempt's first, and the end), so the counts match; rank 0 attaches its checkpoint when it saved a new one."""

    def __init__(self, output: Path, rank: int, forwarder: Forwarder | None):
        self.output, self.rank, self.forwarder = output, rank, forwarder
        self.first_epoch: int | None = None
        self.reported: tuple | None = None

    def on_epoch_start(self, epoch: int) -> None:
        if self.first_epoch is None:
            self.first_epoch = epoch
            return
        self._report()

    def on_train_end(self, result: Any) -> None:
        self._report()
        if self.forwarder is not None:
            self.forwarder.ended()

    def _report(self) -> None:
        import ray.train

        metrics = {"step": self.trainer.global_step}
        last = self.output / "checkpoints" / "last.pt"
        stamp = (last.stat().st_mtime_ns, self.trainer.global_step) if self.rank == 0 and last.is_file() else None
        if stamp is None or stamp == self.reported:
            ray.train.report(metrics)
            return
        with tempfile.TemporaryDirectory(prefix="model-desk-ckpt-") as folder:
            shutil.copyfile(last, Path(folder) / "last.pt")
            if (self.output / "weights.pt").is_file():
                shutil.copyfile(self.output / "weights.pt", Path(folder) / "weights.pt")
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(folder))
        self.reported = stamp
        if self.forwarder is not None:
            self.forwarder.reported(self.trainer.global_step)


class Forwarder(HookForwarder):
    """On rank 0: the loop's events, buffered, to the relay (at most every FLUSH_S, and at once at epoch-level
    events); the relay's reply says whether the driver asked to stop."""

    URGENT = ("on_train_start", "on_validation_end", "on_checkpoint", "on_warning", "result", "reported", "ended")

    def __init__(self, relay):
        self.relay = relay
        self.buffer: list = []
        self.last_flush = 0.0

    def _send(self, hook: str, *args: Any) -> None:
        t = self.trainer
        state = self._state()
        if hook == "on_train_start":
            state.update(resumed_at=t.resumed_at, resumed=t.resume_description())
        self.buffer.append((hook, args, state))
        now = time.monotonic()
        if hook in self.URGENT or now - self.last_flush >= FLUSH_S:
            import ray

            self.last_flush = now
            events, self.buffer = self.buffer, []
            if ray.get(self.relay.push.remote(events)):
                t.request_stop("cancelled")

    def on_checkpoint(self, path, kind):
        self._send("on_checkpoint", str(path), kind)

    def reported(self, step):
        self._send("reported", step)

    def ended(self):
        self._send("ended")

    def on_exception(self, exc):
        pass                                   # rank 0's error goes to the relay from train_loop

    def on_train_end(self, result):
        self._send("result", {**result.to_dict(), "weights_path": None, "checkpoint_path": None})
