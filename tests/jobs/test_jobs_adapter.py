"""The adapter contract and the job queue, with a tiny deterministic user package (no torch)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from waiting import wait_for

from desktop_app.errors import ValidationError

PACKAGE_DIR = Path(__file__).parent / "centroid_package"


@pytest.fixture
def centroid(dl):
    pkg = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py",
                           class_name="CentroidAdapter", default_configuration={"epochs": 3},
                           output_type="class")
    shapes = dl.datasets.get("shapes")
    project = dl.projects.get("Sample project")
    return pkg.models.create(model_name="centroid-v1", dataset_id=shapes.id, project_id=project.id,
                             labels=shapes.labels)


def _wait_status(ex, statuses, timeout=60.0):
    return wait_for(lambda: ex.status if ex.refresh().status in statuses else None, timeout,
                    what=f"execution {ex.id} to be {' or '.join(statuses)}",
                    details=lambda: f"it is {ex.status}; log:\n{ex.logs()}")


def test_push_copies_the_code_and_checks_the_adapter(dl, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "adapter.py").write_text("import desktop_app.sdk as dl\nclass A(dl.BaseModelAdapter):\n"
                                    "    def load(self, p): pass\n")
    with pytest.raises(ValidationError, match="does not implement predict, save"):
        dl.packages.push(package_name="bad", src_path=bad, entry_point="adapter.py")
    with pytest.raises(ValidationError, match="not found"):
        dl.packages.push(package_name="bad", src_path=bad, entry_point="missing.py")
    pkg = dl.packages.push(package_name="centroid", src_path=PACKAGE_DIR, entry_point="adapter.py")
    assert pkg.class_name == "CentroidAdapter" and pkg.kind == "user"
    assert pkg.metadata["supported_methods"] == {"load": True, "save": True, "train": True, "predict": True}
    # The code lives in the store: the package works after the source folder is gone.
    assert dl.default_client().catalog.store.exists(pkg._record.codebase_sha)


def test_train_through_a_worker_process_records_everything(centroid, dl):
    ex = centroid.train()
    assert ex.status == "success", ex.logs()
    assert centroid.refresh().status == "trained"
    assert [a.filename for a in centroid.artifacts.list()] == ["centroids.json"]
    losses = centroid.metrics.list(figure="loss", legend="train")
    assert [s.y for s in losses] == pytest.approx([1.0, 0.5, 1 / 3])
    assert ex.record.pid and ex.record.pid != os.getpid()
    assert "training model centroid-v1" in ex.logs()
    # predict_items through the adapter stores predictions with model_info, replacing earlier ones.
    adapter = centroid.package.build(model_entity=centroid)
    items = dl.datasets.get("shapes").items.list({"subset": "test"}, limit=5)
    adapter.predict_items(items)
    adapter.predict_items(items)
    preds = [a for it in items for a in it.annotations.list(ground_truth=False)]
    assert len(preds) == 5
    assert all(p.model_info["name"] == "centroid-v1" and p.model_info["model_id"] == centroid.id for p in preds)


def test_the_model_code_failing_marks_the_job_failed_with_its_error(centroid):
    centroid.configuration["fail"] = True
    centroid.update()
    ex = centroid.train()
    assert ex.status == "failed"
    assert "the model code failed on purpose" in ex.error
    assert "Traceback" in ex.logs()
    assert centroid.refresh().status == "failed"


def test_cancel_stops_a_job_within_seconds(centroid):
    centroid.configuration.update({"epochs": 100, "sleep": 0.2})
    centroid.update()
    ex = centroid.train(wait=False)
    _wait_status(ex, ("in-progress",))
    wait_for(lambda: centroid.metrics.list(figure="loss"), 30, what="the first epoch's loss (training underway)")
    t = time.monotonic()
    ex.cancel()
    assert _wait_status(ex, ("canceled",), timeout=15) == "canceled"
    assert time.monotonic() - t < 10
    assert centroid.refresh().status == "created"


def test_bad_hyperparameters_and_empty_subsets_are_refused_before_any_job(dl):
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="bad")
    # A bad value is refused where it is set (update), and so never reaches train.
    m.configuration["learning_rate"] = "fast"
    with pytest.raises(ValidationError, match="learning_rate"):
        m.update()
    m.configuration["learning_rate"] = 0.01
    m.configuration["epochs"] = 0
    with pytest.raises(ValidationError, match="epochs"):
        m.update()
    stored = dl.models.get(model_id=m.id).configuration
    assert stored["learning_rate"] != "fast" and stored.get("epochs") != 0    # nothing half-written
    project = dl.projects.get("Sample project")
    empty = project.datasets.create("empty")
    m2 = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="nodata", dataset=empty)
    with pytest.raises(ValidationError, match="train subset of dataset 'empty' is empty"):
        m2.train()
    assert dl.executions.list() == []


def test_kill_9_of_a_worker_leaves_the_catalog_consistent_and_resumable(centroid, dl):
    centroid.configuration.update({"epochs": 60, "sleep": 0.1})
    centroid.update()
    ex = centroid.train(wait=False)
    _wait_status(ex, ("in-progress",))
    cat = dl.default_client().catalog
    wait_for(lambda: len(centroid.metrics.list(figure="loss")) >= 3, 30, what="three epochs' losses")
    os.kill(ex.record.pid, signal.SIGKILL)
    status = _wait_status(ex, ("failed", "interrupted"))
    assert status == "interrupted" and ex.record.message == "interrupted, can resume"   # one state, resumable
    logged = len(centroid.metrics.list(figure="loss"))
    assert logged >= 3
    assert cat.integrity_check() == "ok"
    assert centroid.refresh().status == "created"   # as before the job, not failed (issue 18)
    # resume: the same execution runs again to the end
    centroid.configuration.update({"epochs": 4, "sleep": 0})
    centroid.update()
    again = centroid.train(resume=True)
    assert again.id == ex.id and again.status == "success"
    assert centroid.refresh().status == "trained"


def test_dataloop_train_snippet_runs_as_written(dl, monkeypatch):
    # The built-in resnet is real training; keep it to one short epoch here (the full run is in test_builtin).
    project = dl.projects.create(project_name="exp project")
    projectId = project.id  # noqa: N806

    package = dl.packages.get(package_name='resnet')
    pretrained_model = package.models.get(model_name='pretrained-resnet')

    model = pretrained_model.clone(model_name='my first exp',
                                   description='with higher lr',
                                   project_id=projectId,
                                   configuration={"epochs": 1, "image_size": 32})

    with pytest.warns(UserWarning, match="random initialisation") as said:  # no ImageNet weights offline
        execution = model.train()
    ours = [w for w in said if "random initialisation" in str(w.message)]
    assert ours[0].filename == __file__    # pointed at the caller's line, not the SDK's keyword check

    assert execution.status == "success", execution.logs()
    assert model.status == "trained"
    assert {a.filename for a in model.artifacts.list()} >= {"weights.pt"}
    assert model.metrics.list(figure="accuracy", legend="validation")


def _dead_pid() -> int:
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _scheduler_pid(home) -> int | None:
    from desktop_app.catalog.lock import FileLock
    from desktop_app.jobs.scheduler import LOCK_NAME, scheduler_running
    return FileLock(Path(home) / LOCK_NAME).holder_pid() if scheduler_running(home) else None


def _until_dead(*pids, timeout=10.0):
    from desktop_app.jobs.scheduler import pid_alive
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout, what=f"processes {pids} to end")


def test_wait_returns_when_the_worker_and_the_scheduler_both_die(centroid, dl):
    centroid.configuration.update({"epochs": 600, "sleep": 0.1})
    centroid.update()
    home = dl.default_client().catalog.home
    ex = centroid.train(wait=False)
    _wait_status(ex, ("in-progress",))
    wait_for(lambda: centroid.metrics.list(figure="loss"), 30, what="the first epoch's loss")
    assert centroid.refresh().status == "training"
    worker, scheduler = ex.record.pid, _scheduler_pid(home)
    assert worker and scheduler and worker != scheduler
    os.kill(scheduler, signal.SIGKILL)   # the supervisor first, so nobody reaps the worker
    os.kill(worker, signal.SIGKILL)
    _until_dead(worker, scheduler)

    def hung(*_):
        raise AssertionError("Execution.wait() did not return 30 s after its worker and scheduler died")

    t0 = time.monotonic()
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        ex.wait()   # no timeout, as users call it
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - t0 < 10
    assert ex.status == "interrupted"
    assert f"worker process (pid {worker}) died" in ex.error and "resume" in ex.error
    assert centroid.refresh().status == "created"   # what it was before the job, not 'training' or 'failed'
    # and the job resumes like any interrupted one
    centroid.configuration.update({"epochs": 2, "sleep": 0})
    centroid.update()
    again = ex.resume()
    assert again.status == "success", (again.error, again.logs()[-3000:])
    assert centroid.refresh().status == "trained"


@pytest.mark.parametrize("read", ["executions.get", "executions.list", "model.executions", "execution.status",
                                  "jobs list"])
def test_any_read_of_a_job_whose_owner_died_reconciles_it(dl, read, capsys):
    from desktop_app.cli.main import main as cli
    cat = dl.default_client().catalog
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="orphan")
    cat.set_model_status(m.id, "trained")
    stale = cat.create_execution("train", model_id=m.id, input={"previous_status": "trained"})
    ex = dl.executions.get(stale.id)   # read while still queued: nothing to reconcile
    cat.set_execution_status(stale.id, "in-progress", pid=_dead_pid())
    cat.set_model_status(m.id, "training")
    readers = {
        "executions.get": lambda: dl.executions.get(stale.id).status,
        "executions.list": lambda: {e.id: e.status for e in dl.executions.list()}[stale.id],
        "model.executions": lambda: m.executions[0].status,
        "execution.status": lambda: ex.refresh().status,
        "jobs list": lambda: (cli(["jobs", "list", "--json"]), cat.get_execution(stale.id).status)[1],
    }
    assert readers[read]() == "interrupted"
    assert "died before finishing" in cat.get_execution(stale.id).error
    assert cat.get_model(m.id).status == "trained"


def test_a_read_leaves_a_dead_worker_to_a_live_scheduler(dl):
    """While a scheduler runs it reaps its own workers (with their exit code): readers do not race it."""
    from desktop_app.catalog.lock import FileLock
    from desktop_app.jobs.scheduler import LOCK_NAME
    cat = dl.default_client().catalog
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name="reaped")
    rec = cat.create_execution("train", model_id=m.id, input={"previous_status": "created"})
    cat.set_execution_status(rec.id, "in-progress", pid=_dead_pid())
    lock = FileLock(Path(cat.home) / LOCK_NAME)   # stands for a live scheduler
    assert lock.acquire()
    try:
        assert dl.executions.get(rec.id).status == "in-progress"
    finally:
        lock.release()
    assert dl.executions.get(rec.id).status == "interrupted"


def _series_of(cat, model_id, execution_id):
    series: dict = {}
    for s in cat.list_metrics(model_id):
        if s.execution_id == execution_id:
            series.setdefault((s.figure, s.legend), []).append(s.x)
    return series


def test_a_resumed_run_continues_its_series_without_duplicates(dl, tmp_path):
    """A real built-in run killed after its checkpoint re-runs the steps after it: their old points go."""
    import torch

    from desktop_app.ml.sample_data import generate_shapes
    client = dl.default_client()
    cat = client.catalog
    ds = client.sample_project.datasets.create("tiny")
    cat.import_bundle(ds.id, generate_shapes(tmp_path / "shapes", kind="classification", n=30, size=32))
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(
        model_name="resumed", dataset=dl.datasets.get("tiny"),
        configuration={"epochs": 40, "checkpoint_every": 3, "image_size": 32, "batch_size": 4,
                       "num_workers": 0, "device": "cpu", "pretrained": False})
    ex = m.train(wait=False)

    def validated():
        return sorted(s.x for s in cat.list_metrics(m.id, figure="loss", legend="validation"))

    def four_epochs_validated():   # epochs 1-4 done; the checkpoint is the one after epoch 3
        assert ex.refresh().status in ("created", "in-progress"), ex.logs()[-3000:]
        return len(validated()) >= 4

    wait_for(four_epochs_validated, 300, poll=0.05, what="four validated epochs", details=lambda: ex.logs()[-3000:])
    os.kill(ex.record.pid, signal.SIGKILL)
    _wait_status(ex, ("failed", "interrupted"))
    ckpt = torch.load(cat.work_dir / "executions" / ex.id / "output" / "checkpoints" / "last.pt",
                      map_location="cpu", weights_only=True)
    checkpoint_step = int(ckpt["global_step"])
    before = _series_of(cat, m.id, ex.id)
    stale = {k: [x for x in xs if x > checkpoint_step] for k, xs in before.items()}
    assert stale[("loss", "validation")], f"nothing logged after the checkpoint at {checkpoint_step}: {before}"
    # resume to the end of epoch 5 (two more epochs from the checkpoint)
    m.configuration["epochs"] = 5
    m.update()
    with pytest.warns(UserWarning, match="resnet18 starts from random initialisation"):   # pretrained is off
        again = m.train(resume=True)
    assert again.id == ex.id and again.status == "success", again.logs()[-3000:]
    after = _series_of(cat, m.id, ex.id)
    for key, xs in after.items():
        assert len(xs) == len(set(xs)), f"{key} logged some steps twice: {xs}"
    steps = int(validated()[0])                       # steps an epoch: validation is logged at its last step
    assert validated() == [steps * e for e in (1, 2, 3, 4, 5)]
    assert sorted(after[("loss", "train_batch")]) == list(range(10, 5 * steps + 1, 10))
    log = again.logs()
    assert f"resumed from epoch 4/5 (its start), step {checkpoint_step}" in log
    assert "metric point(s) the earlier attempt logged after step" in log


def test_a_resumed_user_adapter_without_checkpoints_logs_its_series_once(centroid, dl):
    """The centroid adapter starts over on resume: its first point marks where, the older ones from there go."""
    centroid.configuration.update({"epochs": 60, "sleep": 0.1})
    centroid.update()
    ex = centroid.train(wait=False)
    wait_for(lambda: len(centroid.metrics.list(figure="loss")) >= 3, 60, what="three epochs' losses")
    ex.cancel()
    assert _wait_status(ex, ("canceled",)) == "canceled"
    assert len(centroid.metrics.list(figure="loss")) >= 3
    centroid.configuration.update({"epochs": 5, "sleep": 0})
    centroid.update()
    again = centroid.train(resume=True)
    assert again.id == ex.id and again.status == "success", again.logs()
    assert [s.x for s in centroid.metrics.list(figure="loss", legend="train")] == [1, 2, 3, 4, 5]
    assert "the earlier attempt logged from step 1" in again.logs()
