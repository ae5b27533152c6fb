"""The champion alias: who holds it, its audit history, rollback, and moving running services along with it."""

from __future__ import annotations

import logging
from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.errors import NotFoundError, ValidationError

from .definition import PipelineDefinition
from .lock import RunStatus

log = logging.getLogger("desktop_app.pipelines")


def services_of(catalog: Catalog, model_id: str) -> list[str]:
    """Running services serving this model now (stale records are cleaned first)."""
    from desktop_app.serving import manager
    return [s.id for s in manager.list_running(catalog) if s.model_id == model_id]


def finish_redeploys(catalog: Catalog, run_id: str) -> dict[str, Any]:
    """Move the services a promotion listed to the promoted model; each result is recorded on the run.

    Idempotent: called right after the promotion, and again on the next start (`recover_all`) for
    whatever a crash left pending."""
    from desktop_app.serving import manager

    run = catalog.get_pipeline_run(run_id)
    red = dict(run.details.get("redeploy") or {})
    pending = list(red.get("pending") or [])
    target = run.details.get("challenger_id")
    if run.status != RunStatus.PROMOTED or not pending or not target:
        return red
    pipeline = catalog.get_pipeline(run.pipeline_id)
    defn = PipelineDefinition.from_dict(pipeline.definition)
    alias = catalog.get_alias(defn.package_id, defn.alias)
    done, errors = dict(red.get("done") or {}), dict(red.get("errors") or {})
    for sid in pending:
        if alias is None or alias.model_id != target:
            errors[sid] = "skipped: the champion moved again since this run promoted"
            continue
        try:
            rec = catalog.get_service(sid)
            if rec.model_id == target:
                done[sid] = target
            elif rec.status not in manager.RUNNING:
                errors[sid] = f"skipped: the service is {rec.status}"
            else:
                manager.redeploy(catalog, sid, target)
                done[sid] = target
        except Exception as e:  # noqa: BLE001 - the promotion stands; the service keeps its old model
            log.warning("redeploying service %s to %s failed: %s", sid, target, e)
            errors[sid] = f"{type(e).__name__}: {e}"
    red.update(pending=[], done=done, errors=errors)
    _set_details(catalog, run_id, redeploy=red)
    return red


def _set_details(catalog: Catalog, run_id: str, **values: Any) -> None:
    with catalog.transaction():
        run = catalog.get_pipeline_run(run_id)
        catalog.pipeline_runs.set_details(run_id, {**run.details, **values})


def pending_redeploy_runs(catalog: Catalog) -> list[str]:
    return catalog.pipeline_runs.with_pending_redeploys()


def history(catalog: Catalog, package_id: str, alias: str = "champion") -> list[dict[str, Any]]:
    """Who or what set the alias to which model when, and why; oldest first, with model names."""
    names = {m.id: m.name for m in catalog.find_models(package_id=package_id)}
    rows = []
    for h in catalog.alias_history(package_id, alias):
        rows.append({**h, "model_name": names.get(h["model_id"], h["model_id"]),
                     "previous_model_name": names.get(h["previous_model_id"]) if h.get("previous_model_id") else None})
    return rows


def rollback(catalog: Catalog, pipeline_id: str, to_model: str | None = None, *, who: str = "user",
             reason: str = "", redeploy: bool | None = None) -> dict[str, Any]:
    """Make an earlier champion the champion again (default: the one before the current), in one action.

    The alias moves in one transaction (its history records who and why); running services of the
    model that was champion move to the restored one."""
    pipeline = catalog.get_pipeline(pipeline_id)
    defn = PipelineDefinition.from_dict(pipeline.definition)
    current = catalog.get_alias(defn.package_id, defn.alias)
    hist = catalog.alias_history(defn.package_id, defn.alias)
    earlier = [h["model_id"] for h in hist]
    if to_model is None:
        if current is None or not hist or not hist[-1].get("previous_model_id"):
            raise ValidationError(f"pipeline {pipeline.name!r} has no earlier {defn.alias!r} to roll back to")
        target = hist[-1]["previous_model_id"]
    else:
        target = _model_id(catalog, to_model, defn.package_id, pipeline.project_id)
        if target not in earlier:
            raise ValidationError(f"model {to_model!r} was never the {defn.alias!r} of this package; rollback goes to "
                                  f"an earlier champion (see pipeline.history())")
    model = catalog.get_model(target)
    if current is not None and current.model_id == target:
        return {"from_model_id": target, "to_model_id": target, "changed": False, "services": {}}
    old = current.model_id if current else None
    services = services_of(catalog, old) if old and (defn.redeploy if redeploy is None else redeploy) else []
    catalog.set_alias(defn.package_id, defn.alias, target, who=who,
                      reason=reason or f"rollback of pipeline {pipeline.name} to {model.name}")
    moved: dict[str, str] = {}
    from desktop_app.serving import manager
    for sid in services:
        try:
            manager.redeploy(catalog, sid, target)
            moved[sid] = "redeployed"
        except Exception as e:  # noqa: BLE001 - the alias moved; say which service kept its model
            log.warning("redeploying service %s to %s failed: %s", sid, target, e)
            moved[sid] = f"failed: {type(e).__name__}: {e}"
    return {"from_model_id": old, "to_model_id": target, "changed": True, "services": moved}


def _model_id(catalog: Catalog, spec: Any, package_id: str, project_id: str) -> str:
    spec = getattr(spec, "id", spec)
    try:
        m = catalog.get_model(spec)
    except NotFoundError:
        found = catalog.find_models(name=spec, package_id=package_id, project_id=project_id)
        if not found:
            raise NotFoundError(f"no model {spec!r} of this pipeline's package") from None
        m = found[0]
    if m.package_id != package_id:
        raise ValidationError(f"model {m.name!r} belongs to another package")
    return m.id
