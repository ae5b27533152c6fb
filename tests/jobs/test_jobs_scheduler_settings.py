"""The running scheduler follows Settings > Parallel CPU jobs without a restart (issue 18)."""

import os

import pytest

from desktop_app.catalog import ExecutionStatus
from desktop_app.jobs import scheduler as sched_mod
from desktop_app.settings import Settings


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


def test_parallel_cpu_jobs_applies_to_the_running_scheduler(catalog, sched):
    assert [s.name for s in sched.slots] == ["cpu:0"]
    first, second = _queue(catalog), _queue(catalog)
    sched.step()
    assert [e for e, _ in sched.spawned] == [first]          # the second waits behind the first
    Settings().set("parallel_cpu_jobs", 2)                    # Settings > Parallel CPU jobs, while it runs
    sched.step()
    assert [s.name for s in sched.slots] == ["cpu:0", "cpu:1"]
    assert sched.spawned == [(first, ["cpu:0"]), (second, ["cpu:1"])]
