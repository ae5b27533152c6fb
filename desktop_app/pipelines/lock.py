"""One run per pipeline at a time: compare-and-set on the pipeline row, owners by pid, dead owners recovered."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from desktop_app.catalog import Catalog, ExecutionStatus
from desktop_app.catalog.db import new_id, now_iso, to_json
from desktop_app.catalog.records import PipelineRunRecord
from desktop_app.errors import UserError, ValidationError


class RunStatus:
    RUNNING = "running"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELED = "canceled"
    PROMOTED = "promoted"
    DISCARDED = "discarded"
    RESUMABLE = (FAILED, INTERRUPTED, CANCELED)
    FINAL = (FAILED, INTERRUPTED, CANCELED, PROMOTED, DISCARDED)
    DONE = (PROMOTED, DISCARDED)


IDLE, BUSY = "idle", "running"
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
    return [{"name": s, "status": "pending"} for s in STEPS]


def claim(catalog: Catalog, pipeline_id: str, *, trigger: str = "manual", run_id: str | None = None,
          owner: dict | None = None) -> PipelineRunRecord:
    """Lock the pipeline (idle -> running) and open a new run, or reopen a resumable one, in one transaction.

    Two callers at once: BEGIN IMMEDIATE serialises them, the second finds the row 'running' and gets
    PipelineBusyError. A lock held by a dead process is recovered first (its run becomes 'interrupted')."""
    owner = owner or owner_for()
    for attempt in range(2):
        with catalog.db.transaction() as conn:
            got = conn.execute("UPDATE pipelines SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                               (BUSY, now_iso(), pipeline_id, IDLE)).rowcount == 1
            if got:
                return _open_run(catalog, conn, pipeline_id, trigger=trigger, run_id=run_id, owner=owner)
        if attempt == 0 and recover(catalog, pipeline_id):
            continue
        break
    catalog.get_pipeline(pipeline_id)  # NotFoundError for a wrong id
    holder = catalog.db.query_one("SELECT id FROM pipeline_runs WHERE pipeline_id = ? AND status = ? "
                                  "ORDER BY created_at DESC LIMIT 1", (pipeline_id, RunStatus.RUNNING))
    raise PipelineBusyError(f"pipeline {catalog.get_pipeline(pipeline_id).name!r} is already running"
                            + (f" (run {holder['id']})" if holder else ""))


def _open_run(catalog: Catalog, conn, pipeline_id: str, *, trigger: str, run_id: str | None,
              owner: dict) -> PipelineRunRecord:
    now = now_iso()
    if run_id is None:
        number = conn.execute("SELECT COUNT(*) FROM pipeline_runs WHERE pipeline_id = ?", (pipeline_id,)).fetchone()[0] + 1
        rid = new_id()
        details = {"number": number, "owner": owner, "started_at": now}
        conn.execute("INSERT INTO pipeline_runs (id, pipeline_id, status, trigger, steps, details, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (rid, pipeline_id, RunStatus.RUNNING, trigger, to_json(_steps_fresh()), to_json(details), now))
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
    steps = [s if s.get("status") == "success" else {**s, "status": "pending"} for s in run.steps]
    conn.execute("UPDATE pipeline_runs SET status = ?, steps = ?, details = ?, finished_at = NULL WHERE id = ?",
                 (RunStatus.RUNNING, to_json(steps), to_json(details), run_id))
    return catalog.get_pipeline_run(run_id)


def set_owner(catalog: Catalog, run_id: str, owner: dict) -> bool:
    """Hand a running run to another process (the detached runner); False if it is no longer running."""
    with catalog.db.transaction() as conn:
        run = catalog.get_pipeline_run(run_id)
        if run.status != RunStatus.RUNNING:
            return False
        details = {**run.details, "owner": owner}
        conn.execute("UPDATE pipeline_runs SET details = ? WHERE id = ?", (to_json(details), run_id))
    return True


class RunLost(Exception):
    """Our run is no longer ours: another process recovered it (as interrupted) or resumed it."""


def end_run(conn, run: PipelineRunRecord, status: str, steps: list, details: dict, *,
            owner_pid: int | None = None) -> None:
    """Inside a write transaction: the run's final status, steps and details, and the pipeline unlocked.

    With owner_pid, only if that process still owns the running run (compare-and-set); else RunLost,
    and the caller's transaction rolls back whatever else it did (an alias move, say)."""
    now = now_iso()
    sql = ("UPDATE pipeline_runs SET status = ?, steps = ?, details = ?, finished_at = ? "
           "WHERE id = ? AND status = ?")
    params: list[Any] = [status, to_json(steps), to_json(details), now, run.id, RunStatus.RUNNING]
    if owner_pid is not None:
        sql += " AND json_extract(details, '$.owner.pid') = ?"
        params.append(owner_pid)
    if conn.execute(sql, params).rowcount != 1:
        raise RunLost(run.id)
    conn.execute("UPDATE pipelines SET status = ?, updated_at = ? WHERE id = ?", (IDLE, now, run.pipeline_id))


def save_progress(catalog: Catalog, run_id: str, steps: list, details: dict, *, owner_pid: int) -> None:
    """Steps and details of a running run we own; RunLost if it is no longer ours."""
    with catalog.db.transaction() as conn:
        n = conn.execute("UPDATE pipeline_runs SET steps = ?, details = ? WHERE id = ? AND status = ? "
                         "AND json_extract(details, '$.owner.pid') = ?",
                         (to_json(steps), to_json(details), run_id, RunStatus.RUNNING, owner_pid)).rowcount
        if n != 1:
            raise RunLost(run_id)


# -- recovery -------------------------------------------------------------------------------------
def recover(catalog: Catalog, pipeline_id: str | None = None) -> list[str]:
    """Runs left 'running' by a process that is gone become 'interrupted' (resumable); their pipelines unlock.

    Call it on start-up (the app, `pipelines serve`); the SDK calls it before it reads a run's status."""
    if catalog.read_only:
        return []
    sql = "SELECT id, details FROM pipeline_runs WHERE status = ?"
    params: list[Any] = [RunStatus.RUNNING]
    if pipeline_id:
        sql += " AND pipeline_id = ?"
        params.append(pipeline_id)
    dead = [r["id"] for r in catalog.db.query(sql, params)
            if not owner_alive(json.loads(r["details"] or "{}").get("owner"))]
    changed = []
    for rid in dead:
        with catalog.db.transaction() as conn:
            run = catalog.get_pipeline_run(rid)
            if run.status != RunStatus.RUNNING or owner_alive(run.details.get("owner")):
                continue  # someone else recovered or resumed it meanwhile
            steps = []
            at = None
            for s in run.steps:
                if s.get("status") == "running":
                    at = s["name"]
                    s = {**s, "status": "interrupted", "finished_at": now_iso()}
                    if s.get("execution_id"):
                        _interrupt_execution(catalog, s["execution_id"])
                steps.append(s)
            details = {**run.details, "interrupted_at": now_iso(), "failed_step": at,
                       "error": "the process running this pipeline ended without finishing the run; resume it"}
            end_run(conn, run, RunStatus.INTERRUPTED, steps, details)
        changed.append(rid)
    # A pipeline marked running with no running run (edited by hand, or an older bug) is unlocked too.
    rows = catalog.db.query("SELECT id FROM pipelines WHERE status = ? AND id NOT IN "
                            "(SELECT pipeline_id FROM pipeline_runs WHERE status = ?)", (BUSY, RunStatus.RUNNING))
    for r in rows:
        if pipeline_id is None or r["id"] == pipeline_id:
            catalog.db.update("pipelines", {"id": r["id"]}, {"status": IDLE, "updated_at": now_iso()})
    return changed


def _interrupt_execution(catalog: Catalog, execution_id: str) -> None:
    try:
        ex = catalog.get_execution(execution_id)
    except Exception:  # noqa: BLE001 - a deleted execution needs no status
        return
    if ex.status not in ExecutionStatus.FINAL:
        catalog.update_execution(execution_id, status=ExecutionStatus.INTERRUPTED,
                                 message="the pipeline runner ended; resume the run to continue")
