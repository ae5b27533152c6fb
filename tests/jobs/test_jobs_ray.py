"""Training jobs on a Ray cluster (Ray Train's TorchTrainer, 2 CPU workers over gloo, a Ray started on this machine):
the job trains and reports into the catalog, cancels, and finishes from its last checkpoint after a worker dies."""

from __future__ import annotations

import os
import re
import signal

import pytest
from waiting import wait_for

pytest.importorskip("ray.train.torch", reason="Ray Train is not installed (pip install -e '.[cluster]')")
pytestmark = pytest.mark.slow        # each job starts a Ray on this machine: 15-40 s before its first step

# Tiny and quick: 700 train items of 32 px over 2 ranks, 11 steps an epoch.
FAST = {"image_size": 32, "batch_size": 32, "num_workers": 0, "device": "cpu", "pretrained": False,
        "checkpoint_every": 1, "early_stopping_patience": 0}


def _model(dl, name: str, epochs: int):
    parent = dl.packages.get("resnet").models.get("pretrained-resnet")
    return parent.clone(model_name=name, configuration={**FAST, "epochs": epochs})


def _wait_status(ex, statuses, timeout=240.0):
    return wait_for(lambda: ex.status if ex.refresh().status in statuses else None, timeout, poll=0.25,
                    what=f"execution {ex.id} to be {' or '.join(statuses)}",
                    details=lambda: f"it is {ex.status}; log:\n{ex.logs()}")


def test_a_job_on_a_local_ray_cluster_trains_and_reports_into_the_catalog(dl):
    m = _model(dl, "ray-resnet", epochs=2)
    ex = m.train(cluster="local", workers=2)
    log = ex.logs()
    assert ex.status == "success", log
    assert "ray worker rank 0" in log and "ray worker rank 1" in log          # two DDP ranks, gloo
    assert m.refresh().status == "trained"
    assert "weights.pt" in [a.filename for a in m.artifacts.list()]
    steps = [p.x for p in m.metrics.list(figure="accuracy", legend="validation")]
    assert len(steps) == 2 and steps == sorted(set(steps))                   # one point an epoch, from rank 0
    assert m.metrics.list(figure="loss", legend="train")
    output = ex.record.output
    assert output["status"] == "completed" and output["cluster"] == "local" and output["workers"] == 2
    assert output["epochs_completed"] == 2
    assert "checkpoint at step" in log


def test_cancel_stops_the_ray_run_and_resume_goes_on_from_its_checkpoint(dl):
    m = _model(dl, "ray-cancel", epochs=5)
    ex = m.train(cluster="local", workers=2, wait=False)
    wait_for(lambda: m.metrics.list(figure="loss"), 240, poll=0.25, what="training underway on Ray",
             details=lambda: ex.refresh().logs())
    ex.cancel()
    assert _wait_status(ex, ("canceled", "success"), timeout=90) == "canceled", ex.logs()
    assert "asking the Ray workers to stop" in ex.logs()
    work = dl.default_client().catalog.work_dir
    assert (work / "executions" / ex.id / "output" / "checkpoints" / "last.pt").is_file()   # came back: resumable
    assert m.refresh().status == "created", ex.logs()
    ex.resume()                                                   # the same job, queued again, on the same cluster
    assert ex.status == "success", ex.logs()
    log = ex.logs()
    assert re.search(r"Ray workers started in [\d.]+ s; resumed from epoch [2-5]/5", log), log
    steps = [p.x for p in m.metrics.list(figure="accuracy", legend="validation")]
    assert len(steps) == 5 and steps == sorted(set(steps))                   # each epoch once
    assert ex.record.output["epochs_completed"] == 5


def test_a_killed_worker_and_the_run_finishes_from_its_last_checkpoint(dl):
    m = _model(dl, "ray-killed", epochs=4)
    ex = m.train(cluster="local", workers=2, wait=False)
    # The second report: by then Ray has registered the first for sure (a checkpoint counts once the controller
    # has collected every rank's report of it; a worker killed right after rank 0's report can lose that one).
    log = wait_for(lambda: (lambda text: text if text.count("checkpoint at step") >= 2 else None)(ex.refresh().logs()),
                   240, poll=0.1, what="the second checkpoint reported to Ray", details=lambda: ex.logs())
    pid = int(re.search(r"ray worker rank 1 pid (\d+)", log).group(1))
    os.kill(pid, signal.SIGKILL)
    assert _wait_status(ex, ("success", "failed")) == "success", ex.logs()
    log = ex.logs()
    assert "attempt 2: the worker group restarted, resumed from epoch" in log
    steps = [p.x for p in m.metrics.list(figure="accuracy", legend="validation")]
    assert len(steps) == 4 and steps == sorted(set(steps))                   # each epoch once, none lost
    assert ex.record.output["epochs_completed"] == 4
