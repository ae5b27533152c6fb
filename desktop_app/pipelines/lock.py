"""One run per pipeline at a time: compare-and-set on the pipeline row, owners by pid, dead owners recovered."""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from desktop_app.catalog import Catalog, ExecutionStatus
from desktop_app.catalog.records import PipelineRunRecord
from desktop_app.catalog.stamps import new_id, now_iso
from desktop_app.domain.status import PipelineRunStatus as RunStatus
from desktop_app.domain.status import PipelineStatus, StepStatus
from desktop_app.errors import NotFoundError, UserError, ValidationError

IDLE, BUSY = PipelineStatus.IDLE, PipelineStatus.RUNNING
STEPS = ("snapshot", "clone", "train", "evaluate", "compare", "promote")


class PipelineBusyError(UserError):
    """The pipeline has a run in progress; a second one is refused, never started beside it."""


# -- owners ---------------------------------------------------------------------------------------
def _start_ticks(pid: int) -> int | None:
    """The process's start time (Linux), so a recycled pid is not taken for the owner."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(") ", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def owner_for(pid: int | None = None) -> dict[str, Any]:
    pid = pid or os.getpid()
    return {"pid": pid, "start": _start_ticks(pid), "host": socket.gethostname()}


def owner_alive(owner: dict | None) -> bool:
    from desktop_app.jobs.scheduler import pid_alive
    if not owner or not owner.get("pid"):
        return False
    if owner.get("host") and owner["host"] != socket.gethostname():
        return True  # a catalog on a shared disk: we cannot see the other machine's processes
    pid = int(owner["pid"])
    if not pid_alive(pid):
        return False
    start = owner.get("start")
    return start is None or _start_ticks(pid) in (None, start)


# -- claim / release ------------------------------------------------------------------------------
def _steps_fresh() -> list[dict]:
    return [{"name": s, "status": StepStatus.PENDING} for s in STEPS]


def claim(catalog: Catalog, pipeline_id: str, *, trigger: str = "manual", run_id: str | None = None,
          owner: dict | None = None) -> PipelineRunRecord:
    """Lock the pipeline (idle -> running) and open a new run, or reopen a resumable one, in one transaction.

    Two callers at once: BEGIN IMMEDIATE serialises them, the second finds the row 'running' and gets
    PipelineBusyError. A lock held by a dead process is recovered first (its run becomes 'interrupted')."""
    owner = owner or owner_for()
    for attempt in range(2):
        with catalog.transaction():
            if catalog.pipeline_runs.try_lock(pipeline_id):
                return _open_run(catalog, pipeline_id, trigger=trigger, run_id=run_id, owner=owner)
        if attempt == 0 and recover(catalog, pipeline_id):
            continue
        break
    catalog.get_pipeline(pipeline_id)  # NotFoundError for a wrong id
    holder = catalog.pipeline_runs.latest_running(pipeline_id)
    raise PipelineBusyError(f"pipeline {catalog.get_pipeline(pipeline_id).name!r} is already running"
                            + (f" (run {holder})" if holder else ""))


def _open_run(catalog: Catalog, pipeline_id: str, *, trigger: str, run_id: str | None,
              owner: dict) -> PipelineRunRecord:
    """Inside claim's transaction, with the pipeline locked: a new run, or the resumable run_id reopened."""
    now = now_iso()
    if run_id is None:
        number = catalog.pipeline_runs.count(pipeline_id) + 1
        rid = new_id()
        details = {"number": number, "owner": owner, "started_at": now}
        catalog.pipeline_runs.insert_running(rid, pipeline_id, trigger=trigger, steps=_steps_fresh(), details=details,
                                             created_at=now)
        return catalog.get_pipeline_run(rid)
    run = catalog.get_pipeline_run(run_id)
    if run.pipeline_id != pipeline_id:
        raise ValidationError(f"run {run_id} belongs to another pipeline")
    if run.status not in RunStatus.RESUMABLE:
        raise ValidationError(f"run {run_id} is {run.status}; only failed, interrupted or canceled runs resume")
    details = dict(run.details)
    details.update(owner=owner, resumed_at=now, resumes=int(details.get("resumes", 0)) + 1)
    details.pop("error", None)
    details.pop("failed_step", None)
    steps = [s if s.get("status") == StepStatus.SUCCESS else {**s, "status": StepStatus.PENDING} for s in run.steps]
    catalog.pipeline_runs.reopen(run_id, steps=steps, details=details)
    return catalog.get_pipeline_run(run_id)


def set_owner(catalog: Catalog, run_id: str, owner: dict) -> bool:
    """Hand a running run to another process (the detached runner); False if it is no longer running."""
    with catalog.transaction():
        run = catalog.get_pipeline_run(run_id)
        if run.status != RunStatus.RUNNING:
            return False
        catalog.pipeline_runs.set_details(run_id, {**run.details, "owner": owner})
    return True


class RunLost(Exception):
    """Our run is no longer ours: another process recovered it (as interrupted) or resumed it."""


def end_run(catalog: Catalog, run: PipelineRunRecord, status: RunStatus | str, steps: list, details: dict, *,
            owner_pid: int | None = None) -> None:
    """Inside the caller's `catalog.transaction()`: the run's final status, steps and details, and the
    pipeline unlocked.

    With owner_pid, only if that process still owns the running run (compare-and-set); else RunLost,
    and the caller's transaction rolls back whatever else it did (an alias move, say)."""
    if not catalog.pipeline_runs.finish(run.id, run.pipeline_id, status=status, steps=steps, details=details,
                                        owner_pid=owner_pid):
        raise RunLost(run.id)


def save_progress(catalog: Catalog, run_id: str, steps: list, details: dict, *, owner_pid: int) -> None:
    """Steps and details of a running run we own; RunLost if it is no longer ours."""
    if not catalog.pipeline_runs.save_progress(run_id, steps=steps, details=details, owner_pid=owner_pid):
        raise RunLost(run_id)


# -- recovery -------------------------------------------------------------------------------------
def recover(catalog: Catalog, pipeline_id: str | None = None) -> list[str]:
    """Runs left 'running' by a process that is gone become 'interrupted' (resumable); their pipelines unlock.

    Call it on start-up (the app, `pipelines serve`); the SDK calls it before it reads a run's status."""
    if catalog.read_only:
        return []
    dead = [r.run_id for r in catalog.pipeline_runs.running(pipeline_id) if not owner_alive(r.owner)]
    changed = []
    for rid in dead:
        with catalog.transaction():
            run = catalog.get_pipeline_run(rid)
            if run.status != RunStatus.RUNNING or owner_alive(run.details.get("owner")):
                continue  # someone else recovered or resumed it meanwhile
            steps = []
            at = None
            for s in run.steps:
                if s.get("status") == StepStatus.RUNNING:
                    at = s["name"]
                    s = {**s, "status": StepStatus.INTERRUPTED, "finished_at": now_iso()}
                    if s.get("execution_id"):
                        _interrupt_execution(catalog, s["execution_id"])
                steps.append(s)
            details = {**run.details, "interrupted_at": now_iso(), "failed_step": at,
                       "error": "the process running this pipeline ended without finishing the run; resume it"}
            end_run(catalog, run, RunStatus.INTERRUPTED, steps, details)
        changed.append(rid)
    # A pipeline marked running with no running run (edited by hand, or an older bug) is unlocked too.
    for pid in catalog.pipeline_runs.locked_without_run():
        if pipeline_id is None or pid == pipeline_id:
            catalog.pipeline_runs.unlock(pid)
    return changed


def _interrupt_execution(catalog: Catalog, execution_id: str) -> None:
    """The step's execution ends interrupted too. Only a deleted execution is skipped: any other failure to
    read it (the catalog busy past its timeout, say) rolls the recovery of this run back and surfaces, so the
    run never reads interrupted while its step's execution still reads in progress; the next recover retries."""
    with contextlib.suppress(NotFoundError):   # a finished one stays as it ended (expect)
        catalog.set_execution_status(execution_id, ExecutionStatus.INTERRUPTED, expect=ExecutionStatus.ACTIVE,
                                     message="the pipeline runner ended; resume the run to continue")
