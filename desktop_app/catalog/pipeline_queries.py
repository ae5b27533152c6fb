"""Named queries of the continuous-learning pipelines: the run lock, run rows, trigger counts, data versions.

The lease logic (who owns a run, when a dead owner's run is recovered) stays in `pipelines/lock.py`; here are
the statements it is made of, each one compare-and-set where the lock needs it. Call them inside
`Catalog.transaction()` where several must land together (a nested call is a savepoint of it).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Sequence

from desktop_app.domain.status import PipelineRunStatus, PipelineStatus, coerce

from .db import Database
from .ground_truth import ground_truth_json_sql, ground_truth_sql
from .lifecycle import PIPELINE_RUN_TRANSITIONS, check_transition
from .stamps import now_iso, to_json

CHUNK = 900   # ids per `IN (...)`: under SQLite's old 999-variable limit


class RunningRun(NamedTuple):
    run_id: str
    owner: dict | None     # details.owner: {"pid", "start", "host"} of the process running it


class Version(NamedTuple):
    id: int
    updated_at: str


class AnnotationVersion(NamedTuple):
    id: int
    item_id: int
    updated_at: str


class PipelineRunQueries:
    """`catalog.pipeline_runs`: the pipeline lock and the rows of runs."""

    def __init__(self, db: Database):
        self._db = db

    # -- the lock on the pipeline row ------------------------------------------------------------
    def try_lock(self, pipeline_id: str) -> bool:
        """idle -> running, compare-and-set: True for the one caller that got it."""
        with self._db.transaction() as conn:
            return conn.execute("UPDATE pipelines SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                                (PipelineStatus.RUNNING, now_iso(), pipeline_id, PipelineStatus.IDLE)).rowcount == 1

    def unlock(self, pipeline_id: str, *, at: str | None = None) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE pipelines SET status = ?, updated_at = ? WHERE id = ?",
                         (PipelineStatus.IDLE, at or now_iso(), pipeline_id))

    def locked_without_run(self) -> list[str]:
        """Pipelines marked running with no running run (edited by hand, or an older bug)."""
        rows = self._db.query("SELECT id FROM pipelines WHERE status = ? AND id NOT IN "
                              "(SELECT pipeline_id FROM pipeline_runs WHERE status = ?)",
                              (PipelineStatus.RUNNING, PipelineRunStatus.RUNNING))
        return [r["id"] for r in rows]

    # -- runs ------------------------------------------------------------------------------------
    def latest_running(self, pipeline_id: str) -> str | None:
        """The id of the pipeline's newest running run."""
        return self._db.scalar("SELECT id FROM pipeline_runs WHERE pipeline_id = ? AND status = ? "
                               "ORDER BY created_at DESC LIMIT 1", (pipeline_id, PipelineRunStatus.RUNNING))

    def running(self, pipeline_id: str | None = None) -> list[RunningRun]:
        """Every running run (of one pipeline) with the owner its details name."""
        sql = "SELECT id, details FROM pipeline_runs WHERE status = ?"
        params: list[Any] = [PipelineRunStatus.RUNNING]
        if pipeline_id:
            sql += " AND pipeline_id = ?"
            params.append(pipeline_id)
        return [RunningRun(r["id"], json.loads(r["details"] or "{}").get("owner")) for r in self._db.query(sql, params)]

    def count(self, pipeline_id: str) -> int:
        return int(self._db.scalar("SELECT COUNT(*) FROM pipeline_runs WHERE pipeline_id = ?", (pipeline_id,)))

    def insert_running(self, run_id: str, pipeline_id: str, *, trigger: str, steps: list, details: dict,
                       created_at: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO pipeline_runs (id, pipeline_id, status, trigger, steps, details, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (run_id, pipeline_id, PipelineRunStatus.RUNNING, trigger, to_json(steps), to_json(details),
                          created_at))

    def reopen(self, run_id: str, *, steps: list, details: dict) -> None:
        """A resumed run: running again, not finished."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE pipeline_runs SET status = ?, steps = ?, details = ?, finished_at = NULL WHERE id = ?",
                         (PipelineRunStatus.RUNNING, to_json(steps), to_json(details), run_id))

    def set_details(self, run_id: str, details: dict) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE pipeline_runs SET details = ? WHERE id = ?", (to_json(details), run_id))

    def save_progress(self, run_id: str, *, steps: list, details: dict, owner_pid: int) -> bool:
        """Steps and details of a running run this pid owns; False (nothing written) if it is not its own."""
        with self._db.transaction() as conn:
            return conn.execute("UPDATE pipeline_runs SET steps = ?, details = ? WHERE id = ? AND status = ? "
                                "AND json_extract(details, '$.owner.pid') = ?",
                                (to_json(steps), to_json(details), run_id, PipelineRunStatus.RUNNING,
                                 owner_pid)).rowcount == 1

    def finish(self, run_id: str, pipeline_id: str, *, status: str, steps: list, details: dict,
               owner_pid: int | None = None) -> bool:
        """A running run ends with this status and its pipeline unlocks, at one time stamp; with owner_pid only
        if that process still owns it. False (nothing written) if the run was not running (or not its own).
        `status` must be one a running run may end with (lifecycle's table), else TransitionError."""
        status = coerce(PipelineRunStatus, status)
        check_transition(PIPELINE_RUN_TRANSITIONS, "pipeline run", run_id, PipelineRunStatus.RUNNING, status,
                         same_ok=False)
        now = now_iso()
        sql = ("UPDATE pipeline_runs SET status = ?, steps = ?, details = ?, finished_at = ? "
               "WHERE id = ? AND status = ?")
        params: list[Any] = [status.value, to_json(steps), to_json(details), now, run_id, PipelineRunStatus.RUNNING]
        if owner_pid is not None:
            sql += " AND json_extract(details, '$.owner.pid') = ?"
            params.append(owner_pid)
        with self._db.transaction() as conn:
            if conn.execute(sql, params).rowcount != 1:
                return False
            self.unlock(pipeline_id, at=now)
        return True

    # -- what triggers and redeploys read --------------------------------------------------------
    def last_snapshot_at(self, pipeline_id: str) -> str | None:
        """When the data of the pipeline's newest run that froze its data was frozen."""
        return self._db.scalar("SELECT json_extract(details, '$.snapshot.taken_at') FROM pipeline_runs "
                               "WHERE pipeline_id = ? AND json_extract(details, '$.snapshot.taken_at') IS NOT NULL "
                               "ORDER BY created_at DESC LIMIT 1", (pipeline_id,))

    def last_created_at(self, pipeline_id: str) -> str | None:
        """When the pipeline's newest run started (None: it never ran)."""
        return self._db.scalar("SELECT MAX(created_at) FROM pipeline_runs WHERE pipeline_id = ?", (pipeline_id,))

    def with_pending_redeploys(self) -> list[str]:
        """Promoted runs whose services were not all moved to the promoted model yet (a crash in between)."""
        rows = self._db.query("SELECT id FROM pipeline_runs WHERE status = ? AND "
                              "json_array_length(json_extract(details, '$.redeploy.pending')) > 0",
                              (PipelineRunStatus.PROMOTED,))
        return [r["id"] for r in rows]


class DataVersionQueries:
    """`catalog.data_versions`: which version (updated_at) of items and their ground truth exists now."""

    def __init__(self, db: Database):
        self._db = db

    def items(self, item_ids: Sequence[int]) -> list[Version]:
        """The items that still exist, in chunks of CHUNK ids, each chunk by id."""
        out: list[Version] = []
        for chunk in _chunks(item_ids):
            rows = self._db.conn.execute(f"SELECT id, updated_at FROM items WHERE id IN ({_marks(chunk)}) "
                                         f"ORDER BY id", chunk).fetchall()
            out += [Version(r[0], r[1]) for r in rows]
        return out

    def ground_truth(self, item_ids: Sequence[int]) -> list[AnnotationVersion]:
        """The ground-truth annotations on these items, in chunks of CHUNK item ids, each chunk by id."""
        out: list[AnnotationVersion] = []
        for chunk in _chunks(item_ids):
            rows = self._db.conn.execute(
                f"SELECT id, item_id, updated_at FROM annotations WHERE item_id IN ({_marks(chunk)}) "
                f"AND {ground_truth_sql()} ORDER BY id", chunk).fetchall()
            out += [AnnotationVersion(r[0], r[1], r[2]) for r in rows]
        return out

    def ground_truth_changes(self, dataset_id: str, since: str, *, except_items: Sequence[int] = ()) -> int:
        """Ground-truth annotations created, fixed (a prediction accepted too) or deleted on reviewed items of
        the dataset after `since`, but on `except_items`; one annotation changed twice counts once."""
        # A change counts when it leaves ground truth behind (created, fixed, accepted) or removes ground truth.
        changed = (f"((c.after IS NOT NULL AND {ground_truth_json_sql('c.after')}) "
                   f"OR (c.after IS NULL AND {ground_truth_json_sql('c.before')}))")
        return int(self._db.scalar(
            "SELECT COUNT(DISTINCT COALESCE(c.annotation_id, -c.id)) FROM annotation_changes c "
            "JOIN items i ON i.id = c.item_id "
            f"WHERE i.dataset_id = ? AND i.reviewed = 1 AND c.at > ? AND {changed} "
            "AND c.item_id NOT IN (SELECT value FROM json_each(?))",
            (dataset_id, since, json.dumps([int(i) for i in except_items]))) or 0)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    ids = list(ids)
    return [ids[k:k + CHUNK] for k in range(0, len(ids), CHUNK)]


def _marks(chunk: Sequence[Any]) -> str:
    return ",".join("?" * len(chunk))
