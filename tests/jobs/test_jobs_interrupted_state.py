"""A worker killed from outside leaves "interrupted, can resume" on its job and model alike (issue 18)."""

import os
import signal
import subprocess

from desktop_app.catalog import ExecutionStatus
from desktop_app.jobs import scheduler as sched_mod


class _Ended:
    def __init__(self, code):
        self.pid, self.code = 0, code

    def poll(self):
        return self.code


def _dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def _reap(cat, ex, code):
    """The scheduler finds the job's worker ended with `code` (a negative one: killed by that signal)."""
    sched = sched_mod.Scheduler(cat.home)
    try:
        sched.running[ex.id] = sched_mod.Running(ex.id, _Ended(code), [], log_file=open(os.devnull, "ab"))
        sched._reap()
    finally:
        sched.catalog.close()


def _training(dl, name):
    cat = dl.default_client().catalog
    m = dl.packages.get("resnet").models.get("pretrained-resnet").clone(model_name=name)
    cat.set_model_status(m.id, "trained")
    ex = cat.create_execution("train", model_id=m.id, input={"previous_status": "trained"})
    cat.set_execution_status(ex.id, "in-progress", pid=_dead_pid())
    cat.set_model_status(m.id, "training")
    return cat, m, ex


def test_a_worker_killed_under_its_scheduler_is_interrupted_and_its_model_not_failed(dl, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_GPUS", "0")
    cat, m, ex = _training(dl, "killed")
    _reap(cat, ex, -signal.SIGKILL)
    now = cat.get_execution(ex.id)
    assert (now.status, now.message) == (ExecutionStatus.INTERRUPTED, "interrupted, can resume")
    assert "signal 9 (SIGKILL)" in now.error and "resume" in now.error
    assert cat.get_model(m.id).status == "trained"     # as before the job: not failed


def test_a_worker_failing_on_its_own_still_fails(dl, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_GPUS", "0")
    cat, m, ex = _training(dl, "crashed")
    _reap(cat, ex, 1)
    assert cat.get_execution(ex.id).status == ExecutionStatus.FAILED
    assert cat.get_model(m.id).status == "failed"


def test_after_a_full_crash_job_and_model_agree(dl):
    cat, m, ex = _training(dl, "crash")
    cat.set_model_status(m.id, "failed")     # its dying worker got this far, not to recording the job
    assert sched_mod.mark_interrupted(cat) == [ex.id]
    now = cat.get_execution(ex.id)
    assert (now.status, now.message) == (ExecutionStatus.INTERRUPTED, "interrupted, can resume")
    assert cat.get_model(m.id).status == "trained"


def test_a_canceled_worker_killed_after_the_grace_gives_its_model_back(dl, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_GPUS", "0")
    cat, m, ex = _training(dl, "canceled")
    cat.request_cancel(ex.id)
    _reap(cat, ex, -signal.SIGKILL)
    assert cat.get_execution(ex.id).status == ExecutionStatus.CANCELED
    assert cat.get_model(m.id).status == "trained"     # not left in "training"
