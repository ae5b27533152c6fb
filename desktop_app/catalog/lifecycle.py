"""The one owner of status transitions: which status may follow which, and the only writer of a model's or a
job's status.

`catalog.set_model_status` and `catalog.set_execution_status` take the status as an enum member or its word
(an unknown word is a ValidationError naming the allowed ones), check the change against the table below (a
refused one is a `TransitionError` naming from and to) and write it, reading and writing in one transaction so
two processes cannot both pass the check. Writing the status a row already has is no transition and always
allowed (a worker marks the job in progress that its scheduler marked so a moment before).

`expect` makes the write a compare-and-set: given, and the row's status is none of them, nothing is written
and None comes back (a write that someone else's change overtook leaves that change alone).
`catalog.restore_model_status` is the one way back the table does not list: a job or a service gives the
model the status it had before them (see below the model table).

The tables are derived from every change the code makes (the comments name who makes it); creating a row is
no transition (`create_model(status=...)` may start anywhere: a built-in is created pre-trained, a clone
trained).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from desktop_app.domain.status import (ExecutionStatus, ModelStatus, PipelineRunStatus, TransitionError,
                                       coerce)
from desktop_app.errors import NotFoundError

from .db import Database, now_iso
from .records import ExecutionRecord, ModelRecord

M, X, R = ModelStatus, ExecutionStatus, PipelineRunStatus

MODEL_TRANSITIONS: Mapping[ModelStatus, frozenset[ModelStatus]] = {
    # pending: a training job queued (jobs.runner.submit_train / resume); training: an adapter's train_model
    # called on it directly; trained: its weights uploaded by hand (Dataloop's `model.status = 'trained'`);
    # deployed: a model with weights of its own served (serving.manager); failed: a train job's worker or its
    # scheduler records the failure whatever the model read when it ended.
    M.CREATED: frozenset({M.PENDING, M.TRAINING, M.TRAINED, M.DEPLOYED, M.FAILED}),
    M.PRE_TRAINED: frozenset({M.PENDING, M.TRAINING, M.TRAINED, M.DEPLOYED, M.FAILED}),
    M.PENDING: frozenset({M.TRAINING, M.FAILED}),                  # the adapter starts, or the job fails
    # the adapter ends; pending: a training left stale (no job holds it) is queued again
    M.TRAINING: frozenset({M.TRAINED, M.FAILED, M.PENDING}),
    # trained again (a job or the adapter), served, or a train job failing after its training ended
    M.TRAINED: frozenset({M.PENDING, M.TRAINING, M.DEPLOYED, M.FAILED}),
    # trained again (its services serve on), a train job of it failing; trained: served no more (serving
    # restores the status it had before it was deployed, usually this one; by hand too)
    M.DEPLOYED: frozenset({M.PENDING, M.TRAINING, M.FAILED, M.TRAINED}),
    # trained again, or its weights uploaded by hand
    M.FAILED: frozenset({M.PENDING, M.TRAINING, M.TRAINED}),
}
# The other way back is a restore (LifecycleMixin.restore_model_status): a training job that ended without
# training (canceled, interrupted) gives its model the status it had when it was queued, and a model's last
# service stopping gives it the status it had before it was deployed; either may be any status.

EXECUTION_TRANSITIONS: Mapping[ExecutionStatus, frozenset[ExecutionStatus]] = {
    # in-progress: a worker spawned (jobs.scheduler) or a pipeline step started (pipelines.engine); canceled:
    # before it started; failed: no device for it, or its log path refused; interrupted: its pipeline's runner
    # ended (pipelines.lock)
    X.CREATED: frozenset({X.IN_PROGRESS, X.CANCELED, X.FAILED, X.INTERRUPTED}),
    # the worker, its scheduler, a pipeline runner, or a reader finding its process dead (interrupted)
    X.IN_PROGRESS: frozenset({X.SUCCESS, X.FAILED, X.CANCELED, X.INTERRUPTED}),
    X.SUCCESS: frozenset(),
    # queued again to resume (jobs.runner.resume_execution)
    X.FAILED: frozenset({X.CREATED}),
    X.CANCELED: frozenset({X.CREATED}),
    X.INTERRUPTED: frozenset({X.CREATED}),
}

# A pipeline run is inserted running and reopened (running again) only from a resumable status
# (pipelines.lock); it ends once, compare-and-set on running (catalog.pipeline_runs.finish).
PIPELINE_RUN_TRANSITIONS: Mapping[PipelineRunStatus, frozenset[PipelineRunStatus]] = {
    R.CREATED: frozenset({R.RUNNING}),
    R.RUNNING: frozenset(R.FINAL),
    **{s: frozenset({R.RUNNING}) for s in R.RESUMABLE},
    **{s: frozenset() for s in R.DONE},
}


def check_transition(table: Mapping[Any, frozenset], kind: str, entity_id: str, current: str, wanted: Any, *,
                     same_ok: bool = True) -> None:
    """TransitionError unless `table` lets `current` become `wanted` (the same status again passes unless
    `same_ok` is false). A current status the table does not know (a row written by a newer version) may become
    anything."""
    if (current == wanted and same_ok) or current not in table:
        return
    allowed = table[current]
    if wanted not in allowed:
        order = list(type(wanted))
        raise TransitionError(kind, entity_id, current, wanted, tuple(sorted(allowed, key=order.index)))


def _expected(enum: type, expect: Any) -> frozenset | None:
    if expect is None:
        return None
    values: Iterable[Any] = (expect,) if isinstance(expect, str) else expect
    return frozenset(coerce(enum, v) for v in values)


class LifecycleMixin:
    """The Catalog's status writers (see the module's docstring)."""

    _db: Database

    def set_model_status(self, model_id: str, status: ModelStatus | str, *,
                         expect: ModelStatus | str | Iterable[ModelStatus | str] | None = None) -> ModelRecord | None:
        """The model's status becomes `status` if the table allows it; None (nothing written) when `expect` is
        given and the model's status is none of it."""
        wanted = coerce(ModelStatus, status)
        expected = _expected(ModelStatus, expect)
        with self._db.transaction():
            current = self._db.scalar("SELECT status FROM models WHERE id = ?", (model_id,))
            if current is None:
                raise NotFoundError(f"no model with id {model_id!r}")
            if expected is not None and current not in expected:
                return None
            check_transition(MODEL_TRANSITIONS, "model", model_id, current, wanted)
            self._db.update("models", {"id": model_id}, {"status": wanted.value, "updated_at": now_iso()})
        return self.get_model(model_id)  # type: ignore[attr-defined]

    def restore_model_status(self, model_id: str, previous: ModelStatus | str, *,
                             expect: ModelStatus | str | Iterable[ModelStatus | str]) -> ModelRecord | None:
        """Give the model back `previous`, the status it had before a job or a service changed it, if it still
        reads one of `expect` (the statuses that job or service left it in); None, nothing written, otherwise.
        The one change besides the table: `previous` may be any status (it was the model's once)."""
        wanted = coerce(ModelStatus, previous)
        expected = _expected(ModelStatus, expect)
        if not expected:
            raise TypeError("restore_model_status needs the statuses the model may be restored from (expect=)")
        with self._db.transaction():
            current = self._db.scalar("SELECT status FROM models WHERE id = ?", (model_id,))
            if current is None:
                raise NotFoundError(f"no model with id {model_id!r}")
            if current not in expected:
                return None
            self._db.update("models", {"id": model_id}, {"status": wanted.value, "updated_at": now_iso()})
        return self.get_model(model_id)  # type: ignore[attr-defined]

    def set_execution_status(self, execution_id: str, status: ExecutionStatus | str, *,
                             expect: ExecutionStatus | str | Iterable[ExecutionStatus | str] | None = None,
                             **fields: Any) -> ExecutionRecord | None:
        """The execution's status becomes `status` (with `fields`: pid, message, error, output, ...) if the table
        allows it; started_at / finished_at are stamped on entering in-progress / a final status unless given.
        None (nothing written) when `expect` is given and the execution's status is none of it."""
        wanted = coerce(ExecutionStatus, status)
        expected = _expected(ExecutionStatus, expect)
        values = dict(fields)
        if "status" in values:
            raise TypeError("set_execution_status takes the status once, as its second argument")
        values["status"] = wanted.value
        if wanted == ExecutionStatus.IN_PROGRESS:
            values.setdefault("started_at", now_iso())
        if wanted in ExecutionStatus.FINAL:
            values.setdefault("finished_at", now_iso())
        with self._db.transaction():
            current = self._db.scalar("SELECT status FROM executions WHERE id = ?", (execution_id,))
            if current is None:
                raise NotFoundError(f"no execution with id {execution_id!r}")
            if expected is not None and current not in expected:
                return None
            check_transition(EXECUTION_TRANSITIONS, "execution", execution_id, current, wanted)
            self._db.update("executions", {"id": execution_id}, values)
        return self.get_execution(execution_id)  # type: ignore[attr-defined]
