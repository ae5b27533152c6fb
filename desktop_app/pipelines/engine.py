"""Run a pipeline: each step an execution with its own status and log; the run ends promoted, discarded or failed.

snapshot -> clone -> train -> evaluate (champion and challenger, same frozen test items) -> compare -> promote.
A failed step leaves the champion untouched and the run resumable from that step (finished steps' outputs are
reused). Promotion is one catalog transaction: alias + alias history + run status.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from pathlib import Path
from typing import Any

from desktop_app.catalog import Catalog, ExecutionStatus
from desktop_app.catalog.stamps import now_iso
from desktop_app.errors import CatalogBusyError, DesktopAppError, NotFoundError, UserError
from desktop_app.jobs.naming import TITLE_KEY, pipeline_context, pipeline_step_title

from . import lock, snapshot
from .definition import PipelineDefinition
from .gate import decide
from .lock import STEPS, RunLost, RunStatus, StepStatus

log = logging.getLogger("desktop_app.pipelines")

POLL_S = 0.25


class StepFailed(DesktopAppError):
    """A step could not finish; the message says why (shown on the run and the step's execution)."""


class RunCanceled(DesktopAppError):
    """The user canceled the run (run.cancel() or Ctrl+C)."""


class RunInterrupted(BaseException):
    """The runner is being stopped (SIGTERM: the app closing); the run becomes 'interrupted', resumable."""


def evaluation_name(pipeline_name: str, run_id: str) -> str:
    return f"pipeline-{pipeline_name}-{run_id[:8]}"


class _Run:
    def __init__(self, catalog: Catalog, run_id: str):
        self.catalog = catalog
        self.run = catalog.get_pipeline_run(run_id)
        self.pipeline = catalog.get_pipeline(self.run.pipeline_id)
        self.defn = PipelineDefinition.from_dict(self.pipeline.definition)
        self.steps: list[dict] = ([dict(s) for s in self.run.steps]
                                  or [{"name": s, "status": StepStatus.PENDING} for s in STEPS])
        self.details: dict[str, Any] = dict(self.run.details)
        self.pid = os.getpid()
        self.current: dict | None = None  # the running step, once its execution exists
        self.at_step: str | None = None
        self._log_file = None
        self._last_progress = 0.0

    # -- bookkeeping ----------------------------------------------------------------------------
    def step(self, name: str) -> dict:
        for s in self.steps:
            if s["name"] == name:
                return s
        s = {"name": name, "status": StepStatus.PENDING}
        self.steps.append(s)
        return s

    def save(self) -> None:
        lock.save_progress(self.catalog, self.run.id, self.steps, self.details, owner_pid=self.pid)

    def say(self, message: str) -> None:
        line = f"{now_iso()} [{self.pipeline.name} {self.run.id[:8]}] {message}"
        log.info("%s", line)
        if self._log_file is not None:
            self._log_file.write(line + "\n")
            self._log_file.flush()

    def link(self, **output: Any) -> None:
        """Record job links / partial outputs on the step at once, so a resume can find them."""
        assert self.current is not None
        self.current.setdefault("output", {}).update(output)
        self.catalog.update_execution(self.current["execution_id"], output=self.current["output"])
        self.save()

    def job_context(self) -> str:
        """What the jobs this run queues say of where they come from: "pipeline nightly, run 3"."""
        return pipeline_context(self.pipeline.name, self.details.get("number"))

    def check_cancel(self) -> None:
        if self.current and self.current.get("execution_id"):
            if self.catalog.get_execution(self.current["execution_id"]).cancel_requested:
                raise RunCanceled("canceled by the user")

    def progress(self, percent: float, message: str = "") -> None:
        now = time.monotonic()
        if percent < 100 and now - self._last_progress < 1.0:
            return
        self._last_progress = now
        if self.current and self.current.get("execution_id"):
            self.catalog.update_execution(self.current["execution_id"], progress=float(min(max(percent, 0), 100)),
                                          message=message)

    # -- the run --------------------------------------------------------------------------------
    def go(self):
        self.say(f"run {self.run.id} (#{self.details.get('number', '?')}, trigger {self.run.trigger}) "
                 f"by pid {self.pid}")
        try:
            for name in STEPS:
                s = self.step(name)
                if s.get("status") == StepStatus.SUCCESS:
                    continue
                self._run_step(name)
                if name == "promote":
                    break
        except RunLost:
            log.warning("run %s was taken over by another process; this runner stops", self.run.id)
        except RunCanceled as e:
            self._abort(RunStatus.CANCELED, str(e), cancel_jobs=True)
        except RunInterrupted:
            self._abort(RunStatus.INTERRUPTED, "the pipeline runner was stopped; resume the run to continue")
        except KeyboardInterrupt:
            self._abort(RunStatus.CANCELED, "canceled (keyboard interrupt)", cancel_jobs=True)
            raise
        except Exception as e:  # noqa: BLE001 - any failure ends the run at this step, resumable
            if not isinstance(e, (UserError, StepFailed)):
                self.say(traceback.format_exc())
            self._abort(RunStatus.FAILED, str(e) if isinstance(e, DesktopAppError) else f"{type(e).__name__}: {e}")
        finally:
            self._close_log()
        return self.catalog.get_pipeline_run(self.run.id)

    def _run_step(self, name: str) -> None:
        s = self.step(name)
        self.current, self.at_step = None, name
        attempt = len(s.get("attempts", [])) + 1
        with self.catalog.transaction():
            inp = {"pipeline_id": self.pipeline.id, "pipeline": self.pipeline.name, "run_id": self.run.id,
                   "run_number": self.details.get("number"), "step": name, "attempt": attempt}
            inp[TITLE_KEY] = pipeline_step_title(self.catalog, inp)     # "Pipeline nightly, run 3: train"
            ex = self.catalog.create_execution("pipeline", project_id=self.pipeline.project_id, input=inp)
            # Never visible as 'created': the job scheduler would take it for a job of its own.
            ex = self.catalog.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS, pid=self.pid,
                                                   log_path=f"logs/executions/{ex.id}.log",
                                                   message=f"pipeline {self.pipeline.name}: {name}")
        path = self.catalog.home / ex.log_path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._close_log()
        self._log_file = open(path, "a", encoding="utf-8")
        s.update(status=StepStatus.RUNNING, execution_id=ex.id, started_at=now_iso(),
                 attempts=[*s.get("attempts", []), ex.id])
        s.pop("error", None)
        s.pop("finished_at", None)
        self.current = s
        self.save()
        self.say(f"step {name} (attempt {attempt}) started; execution {ex.id}")
        self.check_cancel()
        output = getattr(self, f"_step_{name}")()
        if name == "promote":
            return  # ended inside its own transaction
        s.update(status=StepStatus.SUCCESS, finished_at=now_iso(), output={**s.get("output", {}), **output})
        self.catalog.set_execution_status(ex.id, ExecutionStatus.SUCCESS, progress=100.0, output=s["output"],
                                          message="done")
        self.save()
        self.say(f"step {name} done")

    def _abort(self, status: RunStatus, message: str, *, cancel_jobs: bool = False) -> None:
        s = self.current
        step_status = {RunStatus.FAILED: StepStatus.FAILED, RunStatus.CANCELED: StepStatus.CANCELED,
                       RunStatus.INTERRUPTED: StepStatus.INTERRUPTED}[status]
        ex_status = {RunStatus.FAILED: ExecutionStatus.FAILED, RunStatus.CANCELED: ExecutionStatus.CANCELED,
                     RunStatus.INTERRUPTED: ExecutionStatus.INTERRUPTED}[status]
        if cancel_jobs and s is not None:
            for job_id in _job_ids(s.get("output") or {}):
                try:
                    if self.catalog.get_execution(job_id).status not in ExecutionStatus.FINAL:
                        self.catalog.request_cancel(job_id)
                except NotFoundError:   # a missing job needs no cancel
                    pass
                except CatalogBusyError as e:
                    self.say(f"could not cancel job {job_id} ({e}); it may run on: cancel it in Jobs")
        self.say(f"run {status}" + (f" at step {self.at_step}" if self.at_step else "") + f": {message}")
        try:
            with self.catalog.transaction():
                if s is not None:
                    s.update(status=step_status, error=message, finished_at=now_iso())
                    self.catalog.set_execution_status(s["execution_id"], ex_status,
                                                      error=message if status == RunStatus.FAILED else None,
                                                      message=message)
                self.details.update(failed_step=self.at_step, error=message)
                lock.end_run(self.catalog, self.run, status, self.steps, self.details, owner_pid=self.pid)
        except RunLost:
            log.warning("run %s was taken over by another process before it could be marked %s", self.run.id, status)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- waiting on jobs ------------------------------------------------------------------------
    def wait_jobs(self, job_ids: list[str]) -> dict[str, Any]:
        from desktop_app.jobs.scheduler import ensure_scheduler

        last_ensure = time.monotonic()
        while True:
            recs = {j: self.catalog.get_execution(j) for j in job_ids}
            if all(r.status in ExecutionStatus.FINAL for r in recs.values()):
                return recs
            try:
                self.check_cancel()
            except RunCanceled:
                for j, r in recs.items():
                    if r.status not in ExecutionStatus.FINAL:
                        self.catalog.request_cancel(j)
                raise
            self.progress(sum(r.progress for r in recs.values()) / len(recs),
                          "; ".join(f"{r.kind} {r.status} {r.progress:.0f}%" for r in recs.values()))
            if time.monotonic() - last_ensure > 5:
                ensure_scheduler(self.catalog.home)  # the scheduler may have exited with our job still queued
                last_ensure = time.monotonic()
            time.sleep(POLL_S)

    # -- steps ----------------------------------------------------------------------------------
    def _snapshot(self) -> snapshot.Snapshot:
        info = self.details.get("snapshot") or {}
        if not info.get("sha"):
            raise StepFailed("this run has no snapshot")
        return snapshot.load(self.catalog, info["sha"], info.get("taken_at", ""))

    def _step_snapshot(self) -> dict:
        d = self.defn
        snap = snapshot.freeze(self.catalog, d.dataset_id, d.subsets, max_items=d.max_items, seed=d.seed)
        self.details["snapshot"] = snap.summary()
        c = snap.counts()
        self.say(f"froze dataset {d.dataset_id}: {c['train']} train, {c['validation']} validation, {c['test']} test "
                 f"items, {c['annotations']} ground-truth annotations; snapshot {snap.sha[:12]}")
        return snap.summary()

    def _step_clone(self) -> dict:
        from desktop_app.workflows.models import clone_model

        cat, d = self.catalog, self.defn
        alias = cat.get_alias(d.package_id, d.alias)
        if alias is None:
            raise StepFailed(f"package {cat.get_package(d.package_id).name!r} has no {d.alias!r} model; set one "
                             f"with pipeline.rollback(to_model=...)")
        champion = cat.get_model(alias.model_id)
        snap = self._snapshot()
        mine = [m for m in cat.find_models(project_id=champion.project_id, package_id=d.package_id)
                if (m.metadata.get("pipeline") or {}).get("run_id") == self.run.id]
        if mine:  # created before a crash: reuse it
            challenger = mine[0]
            self.say(f"reusing challenger {challenger.name} ({challenger.id}) created earlier in this run")
        else:
            self._check_configuration(champion.package_id, {**champion.configuration, **d.training})
            name = f"{self.pipeline.name}-{self.details.get('number', 1)}"
            if cat.find_models(name=name, project_id=champion.project_id):
                name = f"{name}-{self.run.id[:6]}"
            challenger = clone_model(
                cat, champion.id, name,
                description=f"challenger of {champion.name}, trained by pipeline {self.pipeline.name} "
                            f"(run {self.run.id})",
                dataset_id=d.dataset_id, configuration=dict(d.training),
                tags=[*[t for t in champion.tags if t != "builtin"], f"pipeline:{self.pipeline.name}"],
                train_filter=snap.filter("train"), validation_filter=snap.filter("validation"),
                metadata={"pipeline": {"pipeline_id": self.pipeline.id, "run_id": self.run.id,
                                       "snapshot": snap.sha, "champion_id": champion.id}})
            self.say(f"cloned champion {champion.name} ({champion.id}) into challenger {challenger.name} "
                     f"({challenger.id}) with overrides {d.training}")
        self.details.update(champion_id=champion.id, challenger_id=challenger.id, training=dict(d.training))
        return {"champion_id": champion.id, "champion_name": champion.name, "challenger_id": challenger.id,
                "challenger_name": challenger.name}

    def _check_configuration(self, package_id: str, config: dict) -> None:
        from desktop_app.ml.adapter import validate_model_configuration
        validate_model_configuration(self.catalog, package_id, config)

    def _step_train(self) -> dict:
        from desktop_app.jobs import runner

        cat = self.catalog
        challenger_id = self.details["challenger_id"]
        job_id = (self.current or {}).get("output", {}).get("train_execution_id")
        job = cat.get_execution(job_id) if job_id else None
        if job is not None and job.status == ExecutionStatus.SUCCESS:
            self.say(f"training job {job.id} already finished")
        elif job is not None and job.status in (ExecutionStatus.CREATED, ExecutionStatus.IN_PROGRESS):
            self.say(f"waiting for training job {job.id} ({job.status})")
        elif job is not None and job.status in (ExecutionStatus.INTERRUPTED, ExecutionStatus.CANCELED):
            job = runner.resume_execution(cat, job.id, wait=False)
            self.say(f"training job {job.id} resumed from its last checkpoint")
        else:
            if job is not None:  # it failed: train again with the overrides as they are now
                self._reapply_overrides(challenger_id)
            job = runner.submit_train(cat, challenger_id, wait=False, context=self.job_context())
            self.say(f"training job {job.id} queued for challenger {challenger_id}")
        self.link(train_execution_id=job.id)
        job = self.wait_jobs([job.id])[job.id]
        if job.status != ExecutionStatus.SUCCESS:
            raise StepFailed(f"training {job.status}: {job.error or job.message} (job {job.id}; see its log)")
        arts = [a.filename for a in cat.list_artifacts(challenger_id)]
        self.say(f"training job {job.id} finished; artifacts {arts}")
        return {"train_execution_id": job.id, "artifacts": arts}

    def _reapply_overrides(self, challenger_id: str) -> None:
        cat = self.catalog
        champion = cat.get_model(self.details["champion_id"])
        cfg = dict(cat.get_model(challenger_id).configuration)
        for k in self.details.get("training") or {}:
            if k not in self.defn.training:
                if k in champion.configuration:
                    cfg[k] = champion.configuration[k]
                else:
                    cfg.pop(k, None)
        cfg.update(self.defn.training)
        self._check_configuration(champion.package_id, cfg)
        cat.update_model(challenger_id, configuration=cfg)
        self.details["training"] = dict(self.defn.training)
        self.say(f"challenger configuration updated with the current overrides {self.defn.training}")

    def _step_evaluate(self) -> dict:
        from desktop_app.jobs import runner

        cat = self.catalog
        snap = self._snapshot()
        gate = self.defn.gate_spec(cat.get_model(self.details["champion_id"]).output_type)
        name = evaluation_name(self.pipeline.name, self.run.id)
        filters = snap.filter("test")
        out = dict((self.current or {}).get("output") or {})
        jobs: dict[str, str] = {}
        for role in ("champion", "challenger"):
            model_id = self.details[f"{role}_id"]
            prev = out.get(role) or {}
            job = cat.get_execution(prev["execution_id"]) if prev.get("execution_id") else None
            if job is None or job.status not in (ExecutionStatus.SUCCESS, ExecutionStatus.CREATED,
                                                 ExecutionStatus.IN_PROGRESS):
                job = runner.submit_evaluate(cat, model_id, self.defn.dataset_id, filters=filters, name=name,
                                             wait=False, iou_threshold=gate.iou_threshold,
                                             conf_threshold=gate.conf_threshold,
                                             context=f"{self.job_context()}, {role}")
                self.say(f"evaluation job {job.id} queued for the {role} ({model_id}) on "
                         f"{len(filters['item_ids'])} frozen test items")
            jobs[role] = job.id
            out[role] = {"model_id": model_id, "execution_id": job.id}
        self.link(**out)
        recs = self.wait_jobs(list(jobs.values()))
        for role, job_id in jobs.items():
            job = recs[job_id]
            if job.status != ExecutionStatus.SUCCESS:
                raise StepFailed(f"evaluating the {role} {job.status}: {job.error or job.message} (job {job_id})")
            res = job.output
            out[role].update(evaluation_id=res["evaluation_id"], method=res["method"], summary=res["summary"])
            self.say(f"{role}: " + ", ".join(f"{k} {v:.4f}" for k, v in res["summary"].items()
                                              if isinstance(v, float)))
        return {**out, "evaluation_name": name, "test_items": len(filters["item_ids"])}

    def _step_compare(self) -> dict:
        cat = self.catalog
        ev = self.step("evaluate").get("output") or {}
        results = {}
        for role in ("champion", "challenger"):
            rec = cat.get_evaluation(ev[role]["evaluation_id"])
            results[role] = {"summary": rec.results.get("summary", {}), "per_class": rec.results.get("per_class", {})}
        spec = self.defn.gate_spec(cat.get_model(self.details["champion_id"]).output_type)
        decision = decide(spec, results["champion"], results["challenger"]).to_dict()
        decision["gate"] = spec.to_dict()
        self.details["decision"] = decision
        self.say(("PROMOTE: " if decision["promote"] else "DISCARD: ") + "; ".join(decision["reasons"]))
        return decision

    def _step_promote(self) -> dict:
        decision = self.details.get("decision") or {}
        if decision.get("promote"):
            return self._promote(decision)
        return self._discard(decision)

    def _promote(self, decision: dict) -> dict:
        from . import champion as champ

        cat, d = self.catalog, self.defn
        old, new = self.details["champion_id"], self.details["challenger_id"]
        services = champ.services_of(cat, old) if d.redeploy else []
        s = self.current
        assert s is not None
        reason = f"pipeline {self.pipeline.name} run {self.run.id}: " + "; ".join(decision.get("reasons", []))
        with cat.transaction():
            current = cat.get_alias(d.package_id, d.alias)
            if current is None or current.model_id != old:
                raise StepFailed(f"the {d.alias!r} model changed during the run (now "
                                 f"{current.model_id if current else 'none'}, the run compared against {old}); "
                                 f"nothing was promoted")
            cat.set_alias(d.package_id, d.alias, new, who=f"pipeline:{self.pipeline.name}", reason=reason)
            output = {"action": "promoted", "from_model_id": old, "to_model_id": new, "services": services}
            s.update(status=StepStatus.SUCCESS, finished_at=now_iso(), output={**s.get("output", {}), **output})
            cat.set_execution_status(s["execution_id"], ExecutionStatus.SUCCESS, progress=100.0,
                                     output=s["output"], message="promoted")
            self.details.update(outcome="promoted", promoted_at=now_iso(),
                                redeploy={"pending": list(services), "done": {}, "errors": {}})
            lock.end_run(self.catalog, self.run, RunStatus.PROMOTED, self.steps, self.details, owner_pid=self.pid)
        self.say(f"promoted {new} over {old} ({d.alias!r} moved)")
        if services:
            self.say(f"redeploying services {services} to {new}")
            res = champ.finish_redeploys(cat, self.run.id)
            self.say(f"redeploy: {res}")
        return output

    def _discard(self, decision: dict) -> dict:
        cat = self.catalog
        s = self.current
        assert s is not None
        challenger = cat.get_model(self.details["challenger_id"])
        with cat.transaction():
            meta = {**challenger.metadata,
                    "pipeline": {**(challenger.metadata.get("pipeline") or {}), "discarded": True}}
            cat.update_model(challenger.id, metadata=meta)
            output = {"action": "discarded", "challenger_id": challenger.id}
            s.update(status=StepStatus.SUCCESS, finished_at=now_iso(), output={**s.get("output", {}), **output})
            cat.set_execution_status(s["execution_id"], ExecutionStatus.SUCCESS, progress=100.0,
                                     output=s["output"], message="discarded")
            self.details.update(outcome="discarded")
            lock.end_run(self.catalog, self.run, RunStatus.DISCARDED, self.steps, self.details, owner_pid=self.pid)
        self.say(f"discarded challenger {challenger.name}; the champion stays")
        return output


def _job_ids(output: dict) -> list[str]:
    ids = [output["train_execution_id"]] if output.get("train_execution_id") else []
    for role in ("champion", "challenger"):
        if isinstance(output.get(role), dict) and output[role].get("execution_id"):
            ids.append(output[role]["execution_id"])
    return ids


def execute(catalog: Catalog, run_id: str):
    """Run (or continue) a claimed run in this process until it ends; returns the final run record."""
    return _Run(catalog, run_id).go()


def log_paths(catalog: Catalog, run_id: str) -> dict[str, Path]:
    """Each step's latest log file."""
    run = catalog.get_pipeline_run(run_id)
    out = {}
    for s in run.steps:
        if s.get("execution_id"):
            ex = catalog.get_execution(s["execution_id"])
            if ex.log_path:
                out[s["name"]] = catalog.home / ex.log_path
    return out
