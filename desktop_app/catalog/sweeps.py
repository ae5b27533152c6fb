"""Named queries of sweeps (hyper-parameter searches): the sweeps table, its trial models, their objective values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Sequence

from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError

from .db import Database
from .names import check_name
from .records import ExecutionRecord, ModelRecord, Record
from .stamps import new_id, now_iso, to_json

CHUNK = 900   # ids per `IN (...)`: under SQLite's old 999-variable limit


class SweepStatus(StrEnum):
    """A sweep's status, read off its trials' jobs (workflows.sweeps.sweep_state) and stored on its row."""
    QUEUED = "queued"          # no trial job has started yet
    RUNNING = "running"        # a trial job runs, or some ended and more are to come
    SUCCEEDED = "succeeded"    # every trial ended, at least one trained
    FAILED = "failed"          # every trial ended, none trained
    CANCELED = "canceled"      # canceled by the user (its jobs and driver with it)


FINAL = frozenset({SweepStatus.SUCCEEDED, SweepStatus.FAILED, SweepStatus.CANCELED})
METHODS = ("grid", "random", "tpe", "cmaes")
DIRECTIONS = ("maximize", "minimize")


@dataclass
class SweepRecord(Record):
    id: str
    project_id: str
    name: str
    base_model_id: str | None = None
    method: str = "grid"
    space: dict = field(default_factory=dict)    # parameter name -> spec (workflows.sweeps.normalize_space)
    objective: str | None = None                 # a metric key '<legend>/<figure>', e.g. 'validation/accuracy'
    direction: str = "maximize"
    budget: int | None = None                    # how many trials in all
    status: str = SweepStatus.QUEUED.value
    created_at: str = ""
    finished_at: str | None = None
    metadata: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SweepRecord:
        row = dict(row)
        if isinstance(row.get("space"), str):
            row["space"] = json.loads(row["space"])
        return super().from_row(row)


class ObjectiveSummary(NamedTuple):
    """One model's summary of one metric key (metric_summary): latest value (by x), min, max, points."""
    last: float | None
    min: float | None
    max: float | None
    count: int


class SweepQueries:
    """The sweeps table and what a sweep reads of its trials. Reached by `queries(catalog)`."""

    def __init__(self, db: Database):
        self._db = db

    # -- the sweep row --------------------------------------------------------------------------
    def create(self, *, project_id: str, name: str, base_model_id: str | None, method: str, space: dict,
               objective: str, direction: str, budget: int | None, metadata: dict | None = None) -> SweepRecord:
        check_name(name, "sweep name")
        if method not in METHODS:
            raise ValidationError(f"unknown sweep method {method!r}; one of {', '.join(METHODS)}")
        if direction not in DIRECTIONS:
            raise ValidationError(f"direction must be maximize or minimize, got {direction!r}")
        rec = SweepRecord(id=new_id(), project_id=project_id, name=name, base_model_id=base_model_id,
                          method=method, space=dict(space), objective=objective, direction=direction,
                          budget=budget, status=SweepStatus.QUEUED.value, created_at=now_iso(),
                          metadata=dict(metadata or {}))
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM sweeps WHERE project_id = ? AND name = ?", (project_id, name)).fetchone():
                raise AlreadyExistsError(f"a sweep named {name!r} already exists in this project")
            values = rec.to_dict()
            values["space"], values["metadata"] = to_json(rec.space), to_json(rec.metadata)
            cols = list(values)
            conn.execute(f"INSERT INTO sweeps ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         [values[c] for c in cols])
        return rec

    def get(self, sweep_id: str) -> SweepRecord:
        row = self._db.query_one("SELECT * FROM sweeps WHERE id = ?", (sweep_id,))
        if row is None:
            raise NotFoundError(f"no sweep with id {sweep_id!r}")
        return SweepRecord.from_row(row)

    def find(self, *, project_id: str | None = None, name: str | None = None,
             base_model_id: str | None = None) -> list[SweepRecord]:
        """Sweeps, oldest first, of one project / name / base model when given."""
        where, params = [], []
        for col, val in (("project_id", project_id), ("name", name), ("base_model_id", base_model_id)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        sql = "SELECT * FROM sweeps" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY created_at"
        return [SweepRecord.from_row(r) for r in self._db.query(sql, params)]

    def names(self, project_id: str) -> set[str]:
        return {r["name"] for r in self._db.query("SELECT name FROM sweeps WHERE project_id = ?", (project_id,))}

    def set_status(self, sweep_id: str, status: SweepStatus | str) -> bool:
        """The sweep's status becomes `status` unless it has ended already (a final status stays: compare-and-set);
        finished_at is stamped on entering a final one. True when written."""
        wanted = SweepStatus(status)
        finished = now_iso() if wanted in FINAL else None
        done = [s.value for s in FINAL]
        with self._db.transaction() as conn:
            cur = conn.execute(f"UPDATE sweeps SET status = ?, finished_at = ? WHERE id = ? AND status != ? "
                               f"AND status NOT IN ({','.join('?' * len(done))})",
                               (wanted.value, finished, sweep_id, wanted.value, *done))
            return cur.rowcount == 1

    def update_metadata(self, sweep_id: str, changes: dict[str, Any]) -> SweepRecord:
        """Merge `changes` into the sweep's metadata (read and written in one transaction)."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT metadata FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no sweep with id {sweep_id!r}")
            meta = {**json.loads(row[0] or "{}"), **changes}
            conn.execute("UPDATE sweeps SET metadata = ? WHERE id = ?", (to_json(meta), sweep_id))
        return self.get(sweep_id)

    def delete(self, sweep_id: str) -> None:
        """The sweep row only: its trial models stay (their sweep_id becomes NULL)."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE models SET sweep_id = NULL WHERE sweep_id = ?", (sweep_id,))
            conn.execute("DELETE FROM sweeps WHERE id = ?", (sweep_id,))

    # -- its trials -----------------------------------------------------------------------------
    def set_model_sweep(self, model_id: str, sweep_id: str | None) -> None:
        with self._db.transaction() as conn:
            if conn.execute("UPDATE models SET sweep_id = ? WHERE id = ?", (sweep_id, model_id)).rowcount == 0:
                raise NotFoundError(f"no model with id {model_id!r}")

    def trial_models(self, sweep_id: str) -> list[ModelRecord]:
        """The models the sweep made, in the order it made them."""
        rows = self._db.query("SELECT * FROM models WHERE sweep_id = ? ORDER BY created_at, rowid", (sweep_id,))
        return [ModelRecord.from_row(r) for r in rows]

    def latest_train_jobs(self, model_ids: Sequence[str]) -> dict[str, ExecutionRecord]:
        """Each model's most recent train job (a model with none is left out)."""
        out: dict[str, ExecutionRecord] = {}
        ids = list(model_ids)
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            rows = self._db.query(f"SELECT * FROM executions WHERE kind = 'train' AND model_id IN "
                                  f"({','.join('?' * len(chunk))}) ORDER BY created_at, rowid", chunk)
            for r in rows:
                out[r["model_id"]] = ExecutionRecord.from_row(r)   # later rows win
        return out

    def objective_summaries(self, model_ids: Sequence[str], key: str) -> dict[str, ObjectiveSummary]:
        """metric_summary of one key ('validation/accuracy') for these models (a model with no point is left out)."""
        out: dict[str, ObjectiveSummary] = {}
        ids = list(model_ids)
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            rows = self._db.query(f"SELECT model_id, last, min, max, count FROM metric_summary WHERE key = ? AND "
                                  f"model_id IN ({','.join('?' * len(chunk))})", [key, *chunk])
            out.update((r["model_id"], ObjectiveSummary(r["last"], r["min"], r["max"], r["count"])) for r in rows)
        return out

    def objective_points(self, model_id: str, key: str) -> list[tuple[float, float, float | None]]:
        """A model's points of one metric key as (x, y, epoch), in order of x: a trial's intermediate values."""
        series = self._db.query_one("SELECT figure, legend FROM metric_summary WHERE model_id = ? AND key = ?",
                                    (model_id, key))
        if series is None:
            return []
        rows = self._db.query("SELECT x, y, epoch FROM metrics WHERE model_id = ? AND figure = ? AND legend = ? "
                              "ORDER BY x, id", (model_id, series["figure"], series["legend"]))
        return [(r["x"], r["y"], r["epoch"]) for r in rows]


def queries(catalog: Any) -> SweepQueries:
    """The sweep queries over this catalog's database (`catalog.sweeps` once the Catalog holds one)."""
    found = getattr(catalog, "sweeps", None)
    return found if isinstance(found, SweepQueries) else SweepQueries(catalog._db)
