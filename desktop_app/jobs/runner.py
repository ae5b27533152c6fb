"""Submitting jobs: validate first, queue an execution, make sure a scheduler runs, optionally wait."""

from __future__ import annotations

import sys
import time
from typing import Any, Sequence

from desktop_app.catalog import Catalog, ExecutionRecord, ExecutionStatus, ModelStatus
from desktop_app.errors import ValidationError

from .naming import TITLE_KEY, display_titles, job_title
from .scheduler import ensure_scheduler, mark_interrupted


def _queue(catalog: Catalog, kind: str, *, model_id: str | None, input: dict,
           context: str | None = None) -> ExecutionRecord:
    model = catalog.get_model(model_id) if model_id else None
    # Named for what it does (not "train"): the jobs panel, its log window and app.log show this.
    input = {**input, TITLE_KEY: job_title(catalog, kind, model_id, input, context)}
    ex = catalog.create_execution(kind, model_id=model_id, project_id=model.project_id if model else None,
                                  input=input)
    # Said until the scheduler takes it (it then names what the job waits for, or starts it).
    return catalog.update_execution(ex.id, log_path=f"logs/executions/{ex.id}.log", message="queued")


def submit(catalog: Catalog, kind: str, *, model_id: str | None, input: dict, wait: bool = True,
           show_progress: bool | None = None, context: str | None = None) -> ExecutionRecord:
    """Queue a job of any kind the worker knows (its input already checked by the caller), make sure a scheduler
    runs it, and wait for it when asked. The train / evaluate / predict submitters below check their input first."""
    ex = _queue(catalog, kind, model_id=model_id, input=input, context=context)
    return _start(catalog, ex, wait, show_progress)


def check_trainable(catalog: Catalog, model: Any) -> None:
    """What training refuses before any job: a model with no dataset, or an empty train / validation subset."""
    if model.dataset_id is None:
        raise ValidationError(f"model {model.name!r} has no dataset to train on; clone it with dataset=")
    for subset, f in (("train", model.train_filter), ("validation", model.validation_filter)):
        f = f or {"subset": subset}
        if catalog.count_items(model.dataset_id, **f) == 0:
            ds = catalog.get_dataset(model.dataset_id)
            raise ValidationError(f"the {subset} subset of dataset {ds.name!r} is empty (filter {f}); split "
                                  f"the dataset (dataset.split_ml_subsets) or change the model's {subset} filter")


def submit_train(catalog: Catalog, model_id: str, *, wait: bool = True, resume: bool = False,
                 show_progress: bool | None = None, device: str | None = None,
                 context: str | None = None, cluster: dict | None = None) -> ExecutionRecord:
    """Queue training of a model. Bad hyper-parameters and empty subsets are refused here, before any job.
    `context`: who queues it, for the job's name ("pipeline nightly, run 3"). `cluster`: train on a Ray cluster
    (workflows.cluster.cluster_request's answer); this machine's worker only drives it, on a CPU slot."""
    from desktop_app.ml.adapter import validate_model_configuration

    model = catalog.get_model(model_id)
    if resume:
        ex = _resumable(catalog, model_id)
        if ex is not None:
            return resume_execution(catalog, ex.id, wait=wait, show_progress=show_progress)
    if model.status == ModelStatus.TRAINING:
        active = catalog.list_executions(model_id=model_id, kind="train", status=ExecutionStatus.ACTIVE)
        if active:
            raise ValidationError(f"model {model.name!r} is already training (execution {active[0].id})")
    config = validate_model_configuration(catalog, model.package_id, model.configuration)
    check_trainable(catalog, model)
    requested = device or str(config.get("device", "auto"))
    if config.get("distributed"):
        requested = "all"
    extra = {"cluster": {**cluster, "device": requested}} if cluster else {}
    ex = _queue(catalog, "train", model_id=model_id,
                input={"device": "cpu" if cluster else requested, "resume": False, "previous_status": model.status,
                       **extra}, context=context)
    catalog.set_model_status(model_id, ModelStatus.PENDING)
    return _start(catalog, ex, wait, show_progress)


def submit_evaluate(catalog: Catalog, model_id: str, dataset_id: str, *, filters: dict | None = None,
                    name: str | None = None, wait: bool = True, iou_threshold: float = 0.5,
                    conf_threshold: float = 0.0, show_progress: bool | None = None,
                    context: str | None = None) -> ExecutionRecord:
    from desktop_app.ml.readiness import require_runnable
    require_runnable(catalog, model_id, "evaluate")          # deploy's rule: refused now, not in the job
    catalog.get_dataset(dataset_id)
    for arg, problem in threshold_errors(iou_threshold, conf_threshold).items():
        raise ValidationError(f"{arg} {problem}")
    if catalog.count_items(dataset_id, **(filters or {})) == 0:
        raise ValidationError(f"nothing to evaluate: the filter {filters or {}} selects no items")
    from desktop_app.evaluation.run import require_ground_truth
    require_ground_truth(catalog, model_id, dataset_id, filters)
    ex = _queue(catalog, "evaluate", model_id=model_id,
                input={"dataset_id": dataset_id, "filters": filters or {}, "name": name,
                       "iou_threshold": iou_threshold, "conf_threshold": conf_threshold, "device": "auto"},
                context=context)
    return _start(catalog, ex, wait, show_progress)


def threshold_errors(iou_threshold: float, conf_threshold: float) -> dict[str, str]:
    """What is wrong with an evaluation's thresholds, by argument name (the evaluate dialog shows the same)."""
    errors = {}
    if not (0.0 < iou_threshold <= 1.0):  # also refuses NaN
        errors["iou_threshold"] = f"must be within (0, 1], got {iou_threshold}"
    if not (0.0 <= conf_threshold <= 1.0):
        errors["conf_threshold"] = f"must be within [0, 1], got {conf_threshold}"
    return errors


def submit_predict(catalog: Catalog, model_id: str, *, item_ids: Sequence[int] | None = None,
                   dataset_id: str | None = None, filters: dict | None = None, wait: bool = True,
                   show_progress: bool | None = None) -> ExecutionRecord:
    from desktop_app.ml.readiness import require_runnable
    require_runnable(catalog, model_id, "predict")
    ex = _queue(catalog, "predict", model_id=model_id,
                input={"item_ids": [int(i) for i in item_ids] if item_ids is not None else None,
                       "dataset_id": dataset_id, "filters": filters or {}, "device": "auto"})
    return _start(catalog, ex, wait, show_progress)


def _resumable(catalog: Catalog, model_id: str) -> ExecutionRecord | None:
    mark_interrupted(catalog)
    for ex in catalog.list_executions(model_id=model_id, kind="train"):
        if ex.status in ExecutionStatus.RESUMABLE:
            return ex
        if ex.status == ExecutionStatus.SUCCESS:
            return None
    return None


def resume_execution(catalog: Catalog, execution_id: str, *, wait: bool = True,
                     show_progress: bool | None = None) -> ExecutionRecord:
    """Queue an interrupted / canceled / failed job again; training continues from its last checkpoint."""
    mark_interrupted(catalog)
    ex = catalog.get_execution(execution_id)
    if ex.status not in ExecutionStatus.RESUMABLE:
        raise ValidationError(f"execution {execution_id} is {ex.status}; only interrupted, canceled or failed "
                              f"jobs can be resumed")
    inp = dict(ex.input)
    inp["resume"] = True
    # The last run's progress and start time are stale: a resumed job starts over at 0% with no ETA until its
    # worker reports again (the worker's first report says where the checkpoint put it).
    ex = catalog.set_execution_status(execution_id, ExecutionStatus.CREATED, cancel_requested=0, input=inp,
                                      error=None, finished_at=None, started_at=None, progress=0.0,
                                      message="queued to resume")
    if ex.model_id and ex.kind == "train":
        catalog.set_model_status(ex.model_id, ModelStatus.PENDING)
    return _start(catalog, ex, wait, show_progress)


resume = resume_execution


def _start(catalog: Catalog, ex: ExecutionRecord, wait: bool, show_progress: bool | None) -> ExecutionRecord:
    ensure_scheduler(catalog.home)
    if not wait:
        return ex
    return wait_for(catalog, ex.id, show_progress=show_progress)


def read_job(catalog: Catalog, execution_id: str) -> ExecutionRecord:
    """A job as it stands now: one whose worker and scheduler are both gone is reconciled first."""
    mark_interrupted(catalog)
    return catalog.get_execution(execution_id)


def wait_for(catalog: Catalog, execution_id: str, *, show_progress: bool | None = None,
             timeout: float | None = None, poll: float = 0.25, cancel_on_interrupt: bool = True) -> ExecutionRecord:
    """Block until the job ends, drawing a progress bar on a terminal; Ctrl+C cancels the job.

    A job whose worker dies ends here too: with a scheduler, as the scheduler records it (failed); with
    none, as `interrupted` with an error saying its worker died. A job still queued gets a scheduler.
    """
    show = sys.stderr.isatty() if show_progress is None else show_progress
    tty = sys.stderr.isatty()
    shown: dict = {}
    start = time.monotonic()
    last_check = start
    try:
        while True:
            ex = read_job(catalog, execution_id)
            if show:
                _draw(ex, time.monotonic() - start, tty, shown)
            if ex.status in ExecutionStatus.FINAL:
                break
            if timeout is not None and time.monotonic() - start > timeout:
                raise TimeoutError(f"execution {execution_id} still {ex.status} after {timeout} s")
            if time.monotonic() - last_check > 5:
                ensure_scheduler(catalog.home)  # the scheduler may have exited with our job still queued
                last_check = time.monotonic()
            time.sleep(poll)
    except KeyboardInterrupt:
        if not cancel_on_interrupt:
            raise
        catalog.request_cancel(execution_id)
        if show:
            print("\ncanceling ...", file=sys.stderr)
        while read_job(catalog, execution_id).status not in ExecutionStatus.FINAL:
            time.sleep(0.25)
        raise
    if show:
        if tty:
            print(file=sys.stderr)
        if ex.status == ExecutionStatus.FAILED or (ex.status == ExecutionStatus.INTERRUPTED and ex.error):
            print(f"{ex.status}: {ex.error}", file=sys.stderr)
    return ex


def _draw(ex: ExecutionRecord, elapsed: float, tty: bool = True, shown: dict | None = None) -> None:
    """A bar redrawn in place on a terminal; into a log or a pipe, one line per 10% or change of status."""
    width = 30
    filled = int(width * ex.progress / 100)
    eta = ""
    if 0 < ex.progress < 100:
        remaining = elapsed * (100 - ex.progress) / ex.progress
        eta = f" ETA {int(remaining // 60)}:{int(remaining % 60):02d}"
    bar = "#" * filled + "." * (width - filled)
    line = f"{ex.kind} [{bar}] {ex.progress:5.1f}% {ex.status} {ex.message[:40]}{eta}"
    if tty:
        sys.stderr.write(f"\r{line}   ")
    else:
        shown = {} if shown is None else shown
        key = (ex.status, int(ex.progress // 10))
        if shown.get("key") == key:
            return
        shown["key"] = key
        sys.stderr.write(line.rstrip() + "\n")
    sys.stderr.flush()


def status_summary(catalog: Catalog, limit: int = 50) -> list[dict[str, Any]]:
    mark_interrupted(catalog)
    names = {m.id: m.name for m in catalog.find_models()}
    executions = catalog.list_executions(limit=limit)
    titles = display_titles(catalog, executions, names)
    return [{"id": e.id, "name": titles[e.id], "kind": e.kind, "model": names.get(e.model_id, ""),
             "status": e.status,
             "progress": f"{e.progress:.0f}%", "device": e.device or "", "created": e.created_at[:19],
             "error": (e.error or "")[:60]} for e in executions]
