"""A job the scheduler cannot start yet says what it waits for and how many jobs are ahead (issue 18)."""

import os

import pytest

from desktop_app.catalog import ExecutionStatus
from desktop_app.jobs import scheduler as sched_mod


class _Alive:
    """A worker that runs on (the scheduler only polls it)."""
    pid = os.getpid()

    def poll(self):
        return None


@pytest.fixture
def sched(catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("DESKTOP_APP_CPU_JOBS", "1")
    monkeypatch.setenv("DESKTOP_APP_GPUS", "0")
    s = sched_mod.Scheduler(catalog.home)
    spawned = []

    def spawn(eid, slots):   # the real bookkeeping, with no worker process
        spawned.append((eid, [x.name for x in slots]))
        s.catalog.set_execution_status(eid, ExecutionStatus.IN_PROGRESS, pid=os.getpid())
        s.running[eid] = sched_mod.Running(eid, _Alive(), slots)
    monkeypatch.setattr(s, "_spawn", spawn)
    s.spawned = spawned
    yield s
    s.running.clear()
    s.catalog.close()


def _queue(catalog):
    return catalog.create_execution("evaluate", input={"device": "auto"}).id


def test_queued_jobs_say_what_they_wait_for(catalog, sched):
    first, second, third = _queue(catalog), _queue(catalog), _queue(catalog)
    sched.step()
    assert [e for e, _ in sched.spawned] == [first]
    assert sched.catalog.get_execution(second).message == "queued: waiting for a free CPU slot (1 ahead)"
    assert sched.catalog.get_execution(third).message == "queued: waiting for a free CPU slot (2 ahead)"


def test_a_job_says_queued_before_any_scheduler_looks_at_it(catalog):
    from desktop_app.jobs import runner
    assert runner._queue(catalog, "evaluate", model_id=None, input={"device": "auto"}).message == "queued"
