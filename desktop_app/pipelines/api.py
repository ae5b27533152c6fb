"""Pipelines over a catalog: create and check one, run / resume / cancel / roll back, and the rows the CLI and the
GUI's pipelines page show. The SDK's Pipeline and PipelineRun entities (sdk/pipeline.py) wrap these."""

from __future__ import annotations

from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import PipelineRecord
from desktop_app.errors import AlreadyExistsError, NotFoundError, ValidationError

from . import champion as champ
from . import launch, lock, triggers
from .definition import SUBSET_ROLES, PipelineDefinition, Trigger
from .engine import log_paths
from .lock import PipelineBusyError, RunStatus, StepStatus

__all__ = [
    "create_pipeline", "check_name", "check_definition", "check_subsets", "check_pipeline",
    "PipelineBusyError", "RunStatus", "recover_all",
    "pipeline_rows", "run_rows", "step_rows", "start_run", "resume_run", "cancel_run", "rollback", "history",
    "pending_changes", "TriggerService",
]

start_run = launch.start_run
resume_run = launch.resume_run
cancel_run = launch.cancel_run
TriggerService = triggers.TriggerService


# -- creating -------------------------------------------------------------------------------------
def _id(value: Any) -> Any:
    return getattr(value, "id", value)


def _resolve_model(catalog: Catalog, spec: Any, project_id: str | None):
    spec = _id(spec)
    try:
        return catalog.get_model(spec)
    except NotFoundError:
        found = catalog.find_models(name=spec, project_id=project_id)
        if len(found) != 1:
            raise NotFoundError(f"no single model named {spec!r}" + (" in this project" if project_id else "")) from None
        return found[0]


def create_pipeline(catalog: Catalog, name: str, champion: Any = None, *, package: Any = None, dataset: Any = None,
                    subsets: dict[str, dict] | None = None, trigger: Any = "manual", training: dict | None = None,
                    gate: dict | None = None, max_items: int | dict | None = None, alias: str = "champion",
                    redeploy: bool = True, enabled: bool = True, description: str = "", seed: int = 0,
                    project_id: str | None = None) -> PipelineRecord:
    """A continuous-learning pipeline over the `alias` model of a package (champion= sets the alias).

    subsets: item filters per role (train / validation / test; default the dataset's ML subsets);
    trigger: 'manual', 'annotations:N' / {'type': 'annotations', 'count': N}, 'schedule:6h';
    training: configuration overrides for the challenger; gate: see gate.GateSpec
    (metric, min_improvement, max_class_drop, class_metric, checks, min_wins). Returns the new record; the SDK's
    dl.pipelines.create wraps it in a Pipeline entity (sdk/pipeline.py)."""
    if champion is None and package is None:
        raise ValidationError("pipelines.create needs champion= (a model) or package= (whose alias exists)")
    champ_rec = None
    if champion is not None:
        champ_rec = _resolve_model(catalog, champion, project_id)
        package_id = champ_rec.package_id
        if package is not None and catalog.get_package(_id(package)).id != package_id:
            raise ValidationError(f"model {champ_rec.name!r} is not of package {package!r}")
    else:
        package_id = catalog.get_package(_id(package)).id
        current = catalog.get_alias(package_id, alias)
        if current is None:
            raise ValidationError(f"package {catalog.get_package(package_id).name!r} has no {alias!r} model yet; "
                                  f"pass champion=")
        champ_rec = catalog.get_model(current.model_id)
    project_id = project_id or champ_rec.project_id
    catalog.get_project(project_id)
    if dataset is not None:
        ds = catalog.get_dataset(_id(dataset), project_id)
    elif champ_rec.dataset_id:
        ds = catalog.get_dataset(champ_rec.dataset_id)
    else:
        raise ValidationError(f"model {champ_rec.name!r} has no dataset; pass dataset=")
    defn = PipelineDefinition(
        package_id=package_id, dataset_id=ds.id, alias=alias,
        subsets=dict(subsets) if subsets else {r: {"subset": r} for r in SUBSET_ROLES},
        max_items=max_items if max_items is not None else {}, seed=int(seed), trigger=Trigger.parse(trigger),
        training=dict(training or {}), gate=dict(gate or {}), redeploy=bool(redeploy), enabled=bool(enabled),
        description=description)
    check_name(catalog, project_id, name)
    check_pipeline(catalog, defn, champ_rec)
    with catalog.transaction():
        rec = catalog.create_pipeline(project_id, name, defn.to_dict())
        current = catalog.get_alias(package_id, alias)
        if current is None or current.model_id != champ_rec.id:
            catalog.set_alias(package_id, alias, champ_rec.id, who=f"pipeline:{name}",
                              reason=f"pipeline {name} created with {champ_rec.name} as its {alias}")
    return rec


def check_name(catalog: Catalog, project_id: str, name: Any, *, keep: str | None = None) -> str:
    """A pipeline name: not empty and not taken in the project (keep: the pipeline's own name)."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("a pipeline needs a non-empty name")
    if name != keep and any(p.name == name for p in catalog.list_pipelines(project_id)):
        raise AlreadyExistsError(f"a pipeline named {name!r} already exists in this project")
    return name


def check_definition(catalog: Catalog, defn: PipelineDefinition, champion) -> None:
    """The definition and the challenger's configuration (champion + overrides); no item queries."""
    from desktop_app.ml.adapter import validate_model_configuration

    if not isinstance(defn.trigger, Trigger):
        defn.trigger = Trigger.parse(defn.trigger)
    defn.validate(champion.output_type)
    validate_model_configuration(catalog, defn.package_id, {**champion.configuration, **defn.training})


def check_subsets(catalog: Catalog, dataset_id: str, subsets: dict[str, dict]) -> dict[str, int]:
    """Each role's filter selects items and train / test share none; the number of items per role."""
    ds = catalog.get_dataset(dataset_id)
    ids = {}
    for role in SUBSET_ROLES:
        ids[role] = set(catalog.item_ids(ds.id, **subsets[role]))
        if not ids[role]:
            raise ValidationError(f"the {role} subset of dataset {ds.name!r} is empty (filter {subsets[role]}); "
                                  f"split the dataset (dataset.split_ml_subsets) or pass subsets=")
    if ids["train"] & ids["test"]:
        raise ValidationError(f"the train and test subsets share {len(ids['train'] & ids['test'])} items; a "
                              f"challenger must be tested on items it did not train on")
    return {role: len(v) for role, v in ids.items()}


def check_pipeline(catalog: Catalog, defn: PipelineDefinition, champion) -> None:
    """Everything that can be checked before a run: definition, overrides, non-empty and disjoint subsets."""
    check_definition(catalog, defn, champion)
    check_subsets(catalog, defn.dataset_id, defn.subsets)


# -- plain functions for the CLI and the GUI -----------------------------------------------------------
def recover_all(catalog: Catalog) -> dict[str, list[str]]:
    """On start-up: runs whose process died become 'interrupted' (pipelines unlocked); redeploys a crash
    left after a promotion are finished."""
    interrupted = lock.recover(catalog)
    redeployed = []
    for run_id in champ.pending_redeploy_runs(catalog):
        champ.finish_redeploys(catalog, run_id)
        redeployed.append(run_id)
    return {"interrupted": interrupted, "redeployed": redeployed}


def pending_changes(catalog: Catalog, pipeline_id: str) -> int:
    return triggers.pending_changes(catalog, catalog.get_pipeline(pipeline_id))


def rollback(catalog: Catalog, pipeline_id: str, to_model: str | None = None, **kw: Any) -> dict:
    return champ.rollback(catalog, pipeline_id, to_model, **kw)


def history(catalog: Catalog, pipeline_id: str) -> list[dict]:
    d = PipelineDefinition.from_dict(catalog.get_pipeline(pipeline_id).definition)
    return champ.history(catalog, d.package_id, d.alias)


def _names(catalog: Catalog) -> dict[str, str]:
    return {m.id: m.name for m in catalog.find_models()}


def pipeline_rows(catalog: Catalog, project_id: str | None = None) -> list[dict[str, Any]]:
    """One row per pipeline: champion, trigger (and how close it is), status, the last run's outcome."""
    lock.recover(catalog)
    names = _names(catalog)
    rows = []
    for p in catalog.list_pipelines(project_id):
        d = PipelineDefinition.from_dict(p.definition)
        alias = catalog.get_alias(d.package_id, d.alias)
        runs = catalog.list_pipeline_runs(p.id)
        last = runs[-1] if runs else None
        try:
            due = triggers.due(catalog, p)
            due_text = due.reason
        except Exception as e:  # noqa: BLE001 - a row for a broken definition still shows
            due_text = f"error: {e}"
        rows.append({"id": p.id, "name": p.name, "status": p.status,
                     "champion": names.get(alias.model_id, alias.model_id) if alias else "",
                     "champion_id": alias.model_id if alias else None, "trigger": d.trigger.describe(),
                     "due": due_text, "runs": len(runs), "last_run": last.id if last else "",
                     "last_status": last.status if last else "", "last_at": (last.created_at[:19] if last else ""),
                     "enabled": d.enabled})
    return rows


def _duration(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    f = "%Y-%m-%dT%H:%M:%S.%fZ"
    from datetime import datetime
    return round((datetime.strptime(end, f) - datetime.strptime(start, f)).total_seconds(), 2)


def run_rows(catalog: Catalog, pipeline_id: str) -> list[dict[str, Any]]:
    """The pipeline's runs, newest first: outcome, where it stopped, the figures behind the decision."""
    lock.recover(catalog, pipeline_id)
    names = _names(catalog)
    rows = []
    for r in reversed(catalog.list_pipeline_runs(pipeline_id)):
        d = r.details
        prim = ((d.get("decision") or {}).get("figures") or {}).get("primary") or {}
        at = next((s["name"] for s in r.steps if s.get("status") not in (StepStatus.SUCCESS, StepStatus.PENDING)), "")
        rows.append({"id": r.id, "number": d.get("number"), "status": r.status, "trigger": r.trigger,
                     "step": at, "champion": names.get(d.get("champion_id"), d.get("champion_id") or ""),
                     "challenger": names.get(d.get("challenger_id"), d.get("challenger_id") or ""),
                     "metric": prim.get("metric", ""),
                     "champion_score": prim.get("champion"), "challenger_score": prim.get("challenger"),
                     "reasons": "; ".join((d.get("decision") or {}).get("reasons", [])),
                     "error": d.get("error") or "", "created": r.created_at[:19],
                     "seconds": _duration(r.created_at, r.finished_at)})
    return rows


def step_rows(catalog: Catalog, run_id: str) -> list[dict[str, Any]]:
    """The run's steps: status, its execution (and log), the jobs it linked, duration, error."""
    run = catalog.get_pipeline_run(run_id)
    lock.recover(catalog, run.pipeline_id)
    run = catalog.get_pipeline_run(run_id)
    paths = log_paths(catalog, run_id)
    rows = []
    for s in run.steps:
        out = s.get("output") or {}
        jobs = [out.get("train_execution_id")] + [(out.get(r) or {}).get("execution_id")
                                                  for r in ("champion", "challenger")]
        rows.append({"name": s["name"], "status": s.get("status", StepStatus.PENDING.value),
                     "execution_id": s.get("execution_id"),
                     "attempts": len(s.get("attempts", [])), "jobs": [j for j in jobs if j],
                     "seconds": _duration(s.get("started_at"), s.get("finished_at")), "error": s.get("error") or "",
                     "log_path": str(paths[s["name"]]) if s["name"] in paths else None})
    return rows
