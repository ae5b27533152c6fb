"""The pipeline lock on an empty catalog: claim, end, recovery of a dead owner's run, and a busy catalog during
recovery taken for what it is (not for a deleted execution)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from desktop_app.catalog import ExecutionStatus
from desktop_app.errors import CatalogBusyError
from desktop_app.pipelines import lock
from desktop_app.pipelines.lock import RunStatus


@pytest.fixture
def pipeline(catalog):
    project = catalog.create_project("p")
    return catalog.create_pipeline(project.id, "pipe", {"note": "rows only: the lock never reads the definition"})


def _dead_owner() -> dict:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # lives until killed below
    owner = lock.owner_for(proc.pid)
    proc.kill()
    proc.wait()
    return owner


def _running_step(catalog, run, execution_id: str) -> None:
    steps = [dict(s) for s in run.steps]
    steps[0].update(status="running", execution_id=execution_id)
    catalog.update_pipeline_run(run.id, steps=steps)


def test_claim_is_exclusive_and_end_run_unlocks(catalog, pipeline):
    run = lock.claim(catalog, pipeline.id)
    assert run.status == RunStatus.RUNNING and run.details["number"] == 1
    assert catalog.get_pipeline(pipeline.id).status == lock.BUSY
    with pytest.raises(lock.PipelineBusyError, match=run.id):
        lock.claim(catalog, pipeline.id)

    other_pid = run.details["owner"]["pid"] + 1
    with pytest.raises(lock.RunLost):   # another pid does not own it: nothing written
        with catalog.transaction():
            lock.end_run(catalog, run, RunStatus.FAILED, run.steps, run.details, owner_pid=other_pid)
    assert catalog.get_pipeline_run(run.id).status == RunStatus.RUNNING

    with catalog.transaction():
        lock.end_run(catalog, run, RunStatus.FAILED, run.steps, {**run.details, "error": "x"},
                     owner_pid=run.details["owner"]["pid"])
    ended = catalog.get_pipeline_run(run.id)
    assert ended.status == RunStatus.FAILED and ended.finished_at and ended.details["error"] == "x"
    assert catalog.get_pipeline(pipeline.id).status == lock.IDLE

    again = lock.claim(catalog, pipeline.id, run_id=run.id)   # a failed run resumes as the same run
    assert again.id == run.id and again.status == RunStatus.RUNNING and again.finished_at is None
    assert again.details["resumes"] == 1 and "error" not in again.details


def test_a_dead_owners_run_is_interrupted_with_its_steps_execution(catalog, pipeline):
    run = lock.claim(catalog, pipeline.id, owner=_dead_owner())
    ex = catalog.create_execution("pipeline", project_id=pipeline.project_id)
    catalog.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS)
    _running_step(catalog, run, ex.id)

    assert lock.recover(catalog) == [run.id]
    assert catalog.get_pipeline_run(run.id).status == RunStatus.INTERRUPTED
    assert catalog.get_execution(ex.id).status == ExecutionStatus.INTERRUPTED
    assert catalog.get_pipeline(pipeline.id).status == lock.IDLE


def test_a_deleted_execution_does_not_stop_the_recovery(catalog, pipeline):
    run = lock.claim(catalog, pipeline.id, owner=_dead_owner())
    _running_step(catalog, run, "0" * 24)   # no such execution

    assert lock.recover(catalog) == [run.id]
    assert catalog.get_pipeline_run(run.id).status == RunStatus.INTERRUPTED
    assert catalog.get_pipeline(pipeline.id).status == lock.IDLE


def test_a_busy_catalog_is_not_taken_for_a_deleted_execution(catalog, pipeline, monkeypatch):
    run = lock.claim(catalog, pipeline.id, owner=_dead_owner())
    ex = catalog.create_execution("pipeline", project_id=pipeline.project_id)
    catalog.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS)
    _running_step(catalog, run, ex.id)

    real = type(catalog).get_execution

    def busy(self, execution_id):
        raise CatalogBusyError("the catalog database stayed locked by another process: database is locked")

    monkeypatch.setattr(type(catalog), "get_execution", busy)
    with pytest.raises(CatalogBusyError):
        lock.recover(catalog)
    # Nothing half-done: the run does not read interrupted while its step's execution still reads in progress.
    monkeypatch.setattr(type(catalog), "get_execution", real)
    assert catalog.get_pipeline_run(run.id).status == RunStatus.RUNNING
    assert catalog.get_execution(ex.id).status == ExecutionStatus.IN_PROGRESS
    assert catalog.get_pipeline(pipeline.id).status == lock.BUSY

    # Once the catalog is free, the next recovery does both.
    assert lock.recover(catalog) == [run.id]
    assert catalog.get_pipeline_run(run.id).status == RunStatus.INTERRUPTED
    assert catalog.get_execution(ex.id).status == ExecutionStatus.INTERRUPTED


def test_a_pipeline_locked_without_a_running_run_is_unlocked(catalog, pipeline):
    catalog.update_pipeline(pipeline.id, status=lock.BUSY)
    assert catalog.pipeline_runs.locked_without_run() == [pipeline.id]
    assert lock.recover(catalog) == []
    assert catalog.get_pipeline(pipeline.id).status == lock.IDLE
