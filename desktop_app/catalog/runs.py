"""Catalog operations on metric samples, executions, evaluations, services and pipelines."""

from __future__ import annotations

import math
import time
from dataclasses import fields
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from desktop_app.domain.status import ServiceStatus, coerce
from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError

from .bulk_reads import gc_paused, tuples
from .db import Database, new_id, now_iso
from .records import (EvaluationRecord, ExecutionRecord, MetricSample,
                      PipelineRecord, PipelineRunRecord, ServiceRecord)

if TYPE_CHECKING:
    import numpy as np

_METRIC_INSERT = ("INSERT INTO metrics (model_id, figure, legend, x, y, wall_time, epoch, dataset_id, execution_id) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
# The metric columns in MetricSample's field order: a row is built positionally, MetricSample(*row).
_METRIC_COLUMNS = ", ".join(f.name for f in fields(MetricSample))
# Points are read in the index's order (series, x) and put in id order in Python: SQLite's ORDER BY id sorts
# through a temporary b-tree, which cost as much as the read; Python's sort merges the already ordered series.
_FIRST = itemgetter(0)
# ... unless the points fill at least this share of the ids between their first and last: then a scan of that id
# range reads them in order at once (about 1.7 times faster than the index and a sort, measured on 200,000 points)
DENSE_SHARE = 1 / 3


_SUMMARY_DELETE = "DELETE FROM metric_summary WHERE model_id = ? AND key = ?"
_SUMMARY_RECOMPUTE = """
INSERT INTO metric_summary (model_id, key, figure, legend, last, last_x, min, max, count)
SELECT ?1, ?3 || '/' || ?2, ?2, ?3,
       (SELECT y FROM metrics WHERE model_id = ?1 AND figure = ?2 AND legend = ?3 ORDER BY x DESC, id DESC LIMIT 1),
       MAX(x), MIN(y), MAX(y), COUNT(*)
FROM metrics WHERE model_id = ?1 AND figure = ?2 AND legend = ?3 HAVING COUNT(*) > 0
"""
_SUMMARY_MERGE = """
INSERT INTO metric_summary (model_id, key, figure, legend, last, last_x, min, max, count)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (model_id, key) DO UPDATE SET
    last = CASE WHEN excluded.last_x >= last_x THEN excluded.last ELSE last END,
    last_x = MAX(last_x, excluded.last_x),
    min = MIN(min, excluded.min), max = MAX(max, excluded.max), count = count + excluded.count
"""


def _merge_summary(conn, model_id: str, rows: list[tuple]) -> None:
    """Fold newly inserted metric rows (model_id, figure, legend, x, y, ...) into metric_summary: latest by x (a
    later write wins a tie), min, max, count; one upsert per series, inside the caller's transaction."""
    acc: dict[tuple[str, str], list] = {}
    for r in rows:
        figure, legend, x, y = r[1], r[2], r[3], r[4]
        a = acc.get((figure, legend))
        if a is None:
            acc[(figure, legend)] = [y, x, y, y, 1]
            continue
        if x >= a[1]:
            a[0], a[1] = y, x
        a[2], a[3], a[4] = min(a[2], y), max(a[3], y), a[4] + 1
    conn.executemany(_SUMMARY_MERGE, [(model_id, f"{legend}/{figure}", figure, legend, *a)
                                      for (figure, legend), a in acc.items()])


def _metric_where(model_id: str, figure: str | None, legend: str | None, after_id: int, *,
                  indexed: bool = True) -> tuple[str, list]:
    """The WHERE of a model's points; indexed=False: terms SQLite may not answer through an index (no id term)."""
    mark = "" if indexed else "+"
    where, params = [f"{mark}model_id = ?"], [model_id]
    if indexed:
        where.append("id > ?")
        params.append(int(after_id))
    if figure is not None:
        where.append(f"{mark}figure = ?")
        params.append(figure)
    if legend is not None:
        where.append(f"{mark}legend = ?")
        params.append(legend)
    return " AND ".join(where), params


def _recompute_summary(conn, model_id: str, pairs: set[tuple[str, str]]) -> None:
    """metric_summary of these (figure, legend) series read again from the points (after a delete)."""
    for figure, legend in pairs:
        conn.execute(_SUMMARY_DELETE, (model_id, f"{legend}/{figure}"))
        conn.execute(_SUMMARY_RECOMPUTE, (model_id, figure, legend))


class RunsMixin:
    db: Database

    # -- metrics --------------------------------------------------------------------------
    def add_metric_samples(self, model_id: str, samples: Iterable[dict[str, Any]], *,
                           dataset_id: str | None = None, execution_id: str | None = None) -> int:
        """samples: dicts with figure, legend, x, y (optional wall_time, epoch)."""
        now = time.time()
        rows = []
        for k, s in enumerate(samples):
            try:
                figure, legend = str(s["figure"]), str(s["legend"])
                x, y = float(s["x"]), float(s["y"])
            except (KeyError, TypeError, ValueError) as e:
                raise ValidationError(f"metric sample {k} needs figure, legend and numeric x, y: {e}") from None
            if not figure or not legend:
                raise ValidationError(f"metric sample {k} needs a non-empty figure and legend")
            if math.isinf(x) or math.isnan(x):
                raise ValidationError(f"metric sample {k} ({figure}/{legend}) has a non-finite x")
            rows.append((model_id, figure, legend, x, y, s.get("wall_time", now), s.get("epoch"),
                         s.get("dataset_id", dataset_id), s.get("execution_id", execution_id)))
        if not rows:
            return 0
        with self._db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM models WHERE id = ?", (model_id,)).fetchone():
                raise NotFoundError(f"no model with id {model_id!r}")
            conn.executemany(_METRIC_INSERT, rows)
            _merge_summary(conn, model_id, rows)
        return len(rows)

    def list_metrics(self, model_id: str, *, figure: str | None = None, legend: str | None = None,
                     after_id: int = 0) -> list[MetricSample]:
        """A model's points as records, in the order they were logged (those after ``after_id`` only)."""
        with gc_paused():
            return [MetricSample(*r) for r in self._metric_rows(_METRIC_COLUMNS, model_id, figure, legend, after_id)]

    def metric_points(self, model_id: str, *, figure: str | None = None, legend: str | None = None,
                      after_id: int = 0) -> list[tuple[int, str, str, float, float]]:
        """(id, figure, legend, x, y) of a model's points in the order they were logged: what an SDK PlotSample
        holds, as plain tuples (several times faster than records for a long run)."""
        with gc_paused():
            return self._metric_rows("id, figure, legend, x, y", model_id, figure, legend, after_id)

    def _metric_rows(self, columns: str, model_id: str, figure: str | None, legend: str | None,
                     after_id: int) -> list[tuple]:
        """The points' columns (id first) in id order. A run whose rows lie close together (it logged mostly alone)
        is read straight off the table between its first and last id, already in order; otherwise through the
        index, in (series, x) order, and sorted here."""
        conn = self._db.conn
        where, params = _metric_where(model_id, figure, legend, after_id)
        if not after_id:   # (a poll for new points reads few rows: the index finds them)
            lo, hi, n = tuples(conn, f"SELECT MIN(id), MAX(id), COUNT(*) FROM metrics WHERE {where}", params)[0]
            if not n:
                return []
            if n >= DENSE_SHARE * (hi - lo + 1):
                # '+' keeps SQLite off the index for these terms: a rowid range scan, no sort
                plain, plain_params = _metric_where(model_id, figure, legend, 0, indexed=False)
                return tuples(conn, f"SELECT {columns} FROM metrics WHERE id BETWEEN ? AND ? AND {plain}",
                              [lo, hi, *plain_params])
        rows = tuples(conn, f"SELECT {columns} FROM metrics WHERE {where}", params)
        rows.sort(key=_FIRST)
        return rows

    def metric_series(self, model_id: str, figure: str, legend: str, *,
                      after_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """One line of a chart as two float64 arrays (xs, ys), in the order the points were logged: a columnar
        read that builds no object per point."""
        import numpy as np  # here, not at the top: the CLI's start imports the catalog and never needs numpy
        where, params = _metric_where(model_id, figure, legend, after_id)
        cur = self._db.conn.cursor()
        cur.row_factory = None
        try:
            cur.execute(f"SELECT id, x, y FROM metrics WHERE {where}", params)
            with gc_paused():
                flat = np.fromiter(chain.from_iterable(cur), dtype=np.float64)
        finally:
            cur.close()
        rows = flat.reshape(-1, 3)
        ids = rows[:, 0]
        if ids.size > 1 and not (ids[1:] > ids[:-1]).all():
            rows = rows[np.argsort(ids, kind="stable")]
        return np.ascontiguousarray(rows[:, 1]), np.ascontiguousarray(rows[:, 2])

    def metric_names(self, model_ids: Sequence[str]) -> list[tuple[str, str]]:
        if not model_ids:
            return []
        q = ",".join("?" * len(model_ids))
        rows = self._db.conn.execute(f"SELECT DISTINCT figure, legend FROM metrics WHERE model_id IN ({q}) "
                                    f"ORDER BY figure, legend", list(model_ids)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def delete_metrics(self, model_id: str, *, execution_id: str | None = None, from_x: float | None = None) -> int:
        """A model's samples (one execution's, with execution_id; those at x >= from_x, with from_x)."""
        where, params = ["model_id = ?"], [model_id]
        if execution_id:
            where.append("execution_id = ?")
            params.append(execution_id)
        if from_x is not None:
            where.append("x >= ?")
            params.append(float(from_x))
        with self._db.transaction() as conn:
            pairs = conn.execute(f"SELECT DISTINCT figure, legend FROM metrics WHERE {' AND '.join(where)}",
                                 params).fetchall()
            n = conn.execute(f"DELETE FROM metrics WHERE {' AND '.join(where)}", params).rowcount
            _recompute_summary(conn, model_id, {(p[0], p[1]) for p in pairs})
            return n

    # -- executions -----------------------------------------------------------------------
    def create_execution(self, kind: str, *, model_id: str | None = None, project_id: str | None = None,
                         input: dict | None = None, log_path: str | None = None) -> ExecutionRecord:
        rec = ExecutionRecord(id=new_id(), kind=kind, model_id=model_id, project_id=project_id,
                              input=input or {}, log_path=log_path, created_at=now_iso())
        self._db.insert("executions", rec.to_dict())
        return rec

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        row = self._db.query_one("SELECT * FROM executions WHERE id = ?", (execution_id,))
        if row is None:
            raise NotFoundError(f"no execution with id {execution_id!r}")
        return ExecutionRecord.from_row(row)

    def list_executions(self, *, model_id: str | None = None, status: str | Sequence[str] | None = None,
                        kind: str | None = None, limit: int | None = None) -> list[ExecutionRecord]:
        where, params = [], []
        if model_id:
            where.append("model_id = ?")
            params.append(model_id)
        if status:
            sts = [status] if isinstance(status, str) else list(status)
            where.append(f"status IN ({','.join('?' * len(sts))})")
            params += sts
        if kind:
            where.append("kind = ?")
            params.append(kind)
        sql = "SELECT * FROM executions" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created_at DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [ExecutionRecord.from_row(r) for r in self._db.query(sql, params)]

    def execution_statuses(self, execution_ids: Sequence[str]) -> dict[str, str]:
        """The status of each of these executions the catalog has (an id it lacks is left out)."""
        out: dict[str, str] = {}
        ids = list(execution_ids)
        for i in range(0, len(ids), 500):              # within SQLite's limit on parameters
            chunk = ids[i:i + 500]
            rows = self._db.query(f"SELECT id, status FROM executions WHERE id IN ({','.join('?' * len(chunk))})",
                                  chunk)
            out.update((r["id"], r["status"]) for r in rows)
        return out

    def update_execution(self, execution_id: str, **values: Any) -> ExecutionRecord:
        if "status" in values:
            raise ValidationError(f"update_execution does not change a status (asked: {values['status']!r}): "
                                  f"catalog.set_execution_status(execution_id, status, **fields) does, checking "
                                  f"the change against catalog.lifecycle's table")
        if self._db.update("executions", {"id": execution_id}, values) == 0:
            raise NotFoundError(f"no execution with id {execution_id!r}")
        return self.get_execution(execution_id)

    def request_cancel(self, execution_id: str) -> None:
        self._db.update("executions", {"id": execution_id}, {"cancel_requested": 1})

    # -- evaluations ----------------------------------------------------------------------
    def create_evaluation(self, model_id: str, dataset_id: str, name: str, **values: Any) -> EvaluationRecord:
        if self._db.scalar("SELECT 1 FROM evaluations WHERE model_id = ? AND name = ?", (model_id, name)):
            raise AlreadyExistsError(f"model already has an evaluation named {name!r}")
        rec = EvaluationRecord(id=new_id(), model_id=model_id, dataset_id=dataset_id, name=name,
                               created_at=now_iso(), **values)
        self._db.insert("evaluations", rec.to_dict())
        return rec

    def get_evaluation(self, evaluation_id: str) -> EvaluationRecord:
        row = self._db.query_one("SELECT * FROM evaluations WHERE id = ?", (evaluation_id,))
        if row is None:
            raise NotFoundError(f"no evaluation with id {evaluation_id!r}")
        return EvaluationRecord.from_row(row)

    def find_evaluation(self, model_id: str, name: str) -> EvaluationRecord:
        row = self._db.query_one("SELECT * FROM evaluations WHERE model_id = ? AND name = ?", (model_id, name))
        if row is None:
            raise NotFoundError(f"model {model_id} has no evaluation named {name!r}")
        return EvaluationRecord.from_row(row)

    def list_evaluations(self, *, model_id: str | None = None, dataset_id: str | None = None) -> list[EvaluationRecord]:
        where, params = [], []
        if model_id:
            where.append("model_id = ?")
            params.append(model_id)
        if dataset_id:
            where.append("dataset_id = ?")
            params.append(dataset_id)
        sql = "SELECT * FROM evaluations" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY created_at"
        return [EvaluationRecord.from_row(r) for r in self._db.query(sql, params)]

    def update_evaluation(self, evaluation_id: str, **values: Any) -> EvaluationRecord:
        if "name" in values:
            ev = self.get_evaluation(evaluation_id)
            if self._db.scalar("SELECT 1 FROM evaluations WHERE model_id = ? AND name = ? AND id != ?",
                              (ev.model_id, values["name"], evaluation_id)):
                raise AlreadyExistsError(f"model already has an evaluation named {values['name']!r}")
        self._db.update("evaluations", {"id": evaluation_id}, values)
        return self.get_evaluation(evaluation_id)

    def delete_evaluation(self, evaluation_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM evaluations WHERE id = ?", (evaluation_id,))

    # -- services -------------------------------------------------------------------------
    def create_service(self, model_id: str, name: str, **values: Any) -> ServiceRecord:
        _service_status(values)
        rec = ServiceRecord(id=new_id(), model_id=model_id, name=name, started_at=now_iso(), **values)
        self._db.insert("services", rec.to_dict())
        return rec

    def get_service(self, service_id: str) -> ServiceRecord:
        row = self._db.query_one("SELECT * FROM services WHERE id = ?", (service_id,))
        if row is None:
            raise NotFoundError(f"no service with id {service_id!r}")
        return ServiceRecord.from_row(row)

    def list_services(self, *, model_id: str | None = None, status: str | None = None) -> list[ServiceRecord]:
        where, params = [], []
        if model_id:
            where.append("model_id = ?")
            params.append(model_id)
        if status:
            where.append("status = ?")
            params.append(status)
        sql = "SELECT * FROM services" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY started_at"
        return [ServiceRecord.from_row(r) for r in self._db.query(sql, params)]

    def update_service(self, service_id: str, **values: Any) -> ServiceRecord:
        _service_status(values)
        self._db.update("services", {"id": service_id}, values)
        return self.get_service(service_id)

    # -- pipelines ------------------------------------------------------------------------
    def create_pipeline(self, project_id: str, name: str, definition: dict) -> PipelineRecord:
        if self._db.scalar("SELECT 1 FROM pipelines WHERE project_id = ? AND name = ?", (project_id, name)):
            raise AlreadyExistsError(f"a pipeline named {name!r} already exists in this project")
        now = now_iso()
        rec = PipelineRecord(id=new_id(), project_id=project_id, name=name, definition=definition,
                             created_at=now, updated_at=now)
        self._db.insert("pipelines", rec.to_dict())
        return rec

    def get_pipeline(self, id_or_name: str) -> PipelineRecord:
        row = self._db.query_one("SELECT * FROM pipelines WHERE id = ? OR name = ? ORDER BY id = ? DESC",
                                (id_or_name, id_or_name, id_or_name))
        if row is None:
            raise NotFoundError(f"no pipeline with id or name {id_or_name!r}")
        return PipelineRecord.from_row(row)

    def list_pipelines(self, project_id: str | None = None) -> list[PipelineRecord]:
        if project_id:
            rows = self._db.query("SELECT * FROM pipelines WHERE project_id = ? ORDER BY created_at", (project_id,))
        else:
            rows = self._db.query("SELECT * FROM pipelines ORDER BY created_at")
        return [PipelineRecord.from_row(r) for r in rows]

    def update_pipeline(self, pipeline_id: str, **values: Any) -> PipelineRecord:
        values["updated_at"] = now_iso()
        self._db.update("pipelines", {"id": pipeline_id}, values)
        return self.get_pipeline(pipeline_id)

    def delete_pipeline(self, pipeline_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM pipelines WHERE id = ?", (pipeline_id,))

    def create_pipeline_run(self, pipeline_id: str, trigger: str, steps: list) -> PipelineRunRecord:
        rec = PipelineRunRecord(id=new_id(), pipeline_id=pipeline_id, trigger=trigger, steps=steps,
                                created_at=now_iso())
        self._db.insert("pipeline_runs", rec.to_dict())
        return rec

    def get_pipeline_run(self, run_id: str) -> PipelineRunRecord:
        row = self._db.query_one("SELECT * FROM pipeline_runs WHERE id = ?", (run_id,))
        if row is None:
            raise NotFoundError(f"no pipeline run with id {run_id!r}")
        return PipelineRunRecord.from_row(row)

    def list_pipeline_runs(self, pipeline_id: str) -> list[PipelineRunRecord]:
        rows = self._db.query("SELECT * FROM pipeline_runs WHERE pipeline_id = ? ORDER BY created_at", (pipeline_id,))
        return [PipelineRunRecord.from_row(r) for r in rows]

    def update_pipeline_run(self, run_id: str, **values: Any) -> PipelineRunRecord:
        self._db.update("pipeline_runs", {"id": run_id}, values)
        return self.get_pipeline_run(run_id)


def _service_status(values: dict[str, Any]) -> None:
    """A service's status, if given, as its stored word; a ValidationError naming the allowed ones otherwise."""
    if "status" in values:
        values["status"] = coerce(ServiceStatus, values["status"]).value
