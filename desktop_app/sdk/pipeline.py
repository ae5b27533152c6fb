"""The SDK's pipelines: dl.pipelines.create / get / list give Pipeline and PipelineRun entities over pipelines.api."""

from __future__ import annotations

from typing import Any

from desktop_app.catalog import Catalog
from desktop_app.catalog.records import PipelineRecord, PipelineRunRecord
from desktop_app.errors import NotFoundError, ValidationError
from desktop_app.pipelines import champion as champ
from desktop_app.pipelines import launch, lock, snapshot, triggers
from desktop_app.pipelines.api import check_name, check_pipeline, create_pipeline as _create
from desktop_app.pipelines.definition import PipelineDefinition, Trigger
from desktop_app.pipelines.engine import log_paths
from desktop_app.pipelines.lock import PipelineBusyError, RunStatus

from .entities import Entity


def _id(value: Any) -> Any:
    return getattr(value, "id", value)


def create_pipeline(client: Any, name: str, *args: Any, **kwargs: Any) -> Pipeline:
    """dl.pipelines.create: pipelines.api.create_pipeline on the client's catalog, as an entity."""
    return Pipeline(client, _create(client.catalog, name, *args, **kwargs))


# -- entities -------------------------------------------------------------------------------------
class Pipeline(Entity):
    _record: PipelineRecord

    name = property(lambda self: self._record.name)
    project_id = property(lambda self: self._record.project_id)
    created_at = property(lambda self: self._record.created_at)

    @property
    def catalog(self) -> Catalog:
        return self._client.catalog

    def _fetch(self) -> PipelineRecord:
        """The pipeline as it stands now: a run whose runner died is recovered first."""
        lock.recover(self.catalog, self.id)
        return self.catalog.get_pipeline(self.id)

    @property
    def status(self) -> str:
        """'idle' or 'running', when last read (refresh() reads it again)."""
        return self._record.status

    @property
    def definition(self) -> PipelineDefinition:
        return PipelineDefinition.from_dict(self._record.definition)

    @property
    def trigger(self) -> Trigger:
        return self.definition.trigger

    @property
    def package(self):
        return self._client.packages.get(package_id=self.definition.package_id)

    @property
    def dataset(self):
        return self._client.datasets.get(dataset_id=self.definition.dataset_id)

    @property
    def champion(self):
        """The model the alias points at now (None if unset)."""
        d = self.definition
        a = self.catalog.get_alias(d.package_id, d.alias)
        return self._client.models.get(model_id=a.model_id) if a else None

    # -- running --------------------------------------------------------------------------------
    def run(self, trigger: str = "manual", wait: bool = True, *, detach: bool | None = None,
            timeout: float | None = None) -> PipelineRun:
        """Start a run (PipelineBusyError if one is in progress). wait: until it ends, here (or in a detached
        runner with detach=True / a timeout); wait=False: in a detached runner, returning at once."""
        rec = launch.start_run(self.catalog, self.id, trigger=trigger, wait=wait, detach=detach, timeout=timeout)
        self.refresh()
        return PipelineRun(self._client, rec)

    def runs(self) -> list[PipelineRun]:
        """Oldest first."""
        lock.recover(self.catalog, self.id)
        return [PipelineRun(self._client, r) for r in self.catalog.list_pipeline_runs(self.id)]

    @property
    def last_run(self) -> PipelineRun | None:
        runs = self.runs()
        return runs[-1] if runs else None

    def pending_changes(self) -> int:
        return triggers.pending_changes(self.catalog, self.refresh()._record)

    def due(self) -> triggers.Due:
        return triggers.due(self.catalog, self.refresh()._record)

    # -- the champion ---------------------------------------------------------------------------
    def rollback(self, to_model: Any = None, *, reason: str = "", who: str = "user") -> dict:
        """The champion goes back to an earlier one (default: the previous), services follow."""
        return champ.rollback(self.catalog, self.id, _id(to_model) if to_model is not None else None,
                              who=who, reason=reason)

    def history(self) -> list[dict]:
        """Every move of the alias: model, previous model, when, who (a user or pipeline:<name>), why."""
        d = self.definition
        return champ.history(self.catalog, d.package_id, d.alias)

    # -- edits ----------------------------------------------------------------------------------
    def update(self, **fields: Any) -> Pipeline:
        """Change definition fields (trigger, training, gate, subsets, max_items, redeploy, enabled, ...)
        or the name; checked as at creation. A running run keeps the steps it finished."""
        name = fields.pop("name", None)
        d = self.refresh().definition
        values = d.to_dict()
        for k, v in fields.items():
            if k in ("dataset", "dataset_id"):
                k, v = "dataset_id", self.catalog.get_dataset(_id(v), self.project_id).id
            if k in ("package", "package_id", "alias"):
                raise ValidationError(f"a pipeline's {k} is fixed; create another pipeline")
            if k not in values:
                raise ValidationError(f"pipelines have no field {k!r}")
            values[k] = v
        new = PipelineDefinition.from_dict(values)
        champion = self.champion
        if champion is None:
            raise ValidationError(f"the {d.alias!r} alias is not set; roll back to a model first")
        check_pipeline(self.catalog, new, self.catalog.get_model(champion.id))
        changes: dict[str, Any] = {"definition": new.to_dict()}
        if name is not None and name != self.name:
            changes["name"] = check_name(self.catalog, self.project_id, name, keep=self.name)
        self._record = self.catalog.update_pipeline(self.id, **changes)
        return self

    def delete(self, force: bool = False) -> bool:
        """Remove the pipeline and its runs (the models it trained and the alias stay)."""
        if self.refresh().status == lock.BUSY and not force:
            raise PipelineBusyError(f"pipeline {self.name!r} is running; cancel its run first (or force=True)")
        self.catalog.delete_pipeline(self.id)
        return True


class PipelineRun(Entity):
    _record: PipelineRunRecord

    pipeline_id = property(lambda self: self._record.pipeline_id)
    trigger = property(lambda self: self._record.trigger)
    created_at = property(lambda self: self._record.created_at)

    @property
    def catalog(self) -> Catalog:
        return self._client.catalog

    def _fetch(self) -> PipelineRunRecord:
        """The run as it stands now: a finished detached runner is reaped and a dead one's run recovered first."""
        launch.reap()
        lock.recover(self.catalog, self._record.pipeline_id)
        return self.catalog.get_pipeline_run(self.id)

    @property
    def status(self) -> str:
        """As last read (refresh() reads it again)."""
        return self._record.status

    @property
    def finished_at(self) -> str | None:
        return self._record.finished_at

    @property
    def steps(self) -> list[dict]:
        return [dict(s) for s in self._record.steps]

    def step(self, name: str) -> dict:
        for s in self.steps:
            if s["name"] == name:
                return s
        raise NotFoundError(f"runs have no step {name!r}; steps: {', '.join(lock.STEPS)}")

    @property
    def details(self) -> dict:
        return dict(self._record.details)

    @property
    def number(self) -> int:
        return int(self._record.details.get("number", 0))

    @property
    def decision(self) -> dict | None:
        return self.details.get("decision")

    @property
    def error(self) -> str | None:
        return self.details.get("error")

    @property
    def failed_step(self) -> str | None:
        return self.details.get("failed_step") if self._record.status in RunStatus.RESUMABLE else None

    @property
    def challenger(self):
        cid = self.details.get("challenger_id")
        return self._client.models.get(model_id=cid) if cid else None

    @property
    def champion(self):
        """The champion this run compared against."""
        cid = self.details.get("champion_id")
        return self._client.models.get(model_id=cid) if cid else None

    @property
    def snapshot(self) -> snapshot.Snapshot | None:
        info = self.details.get("snapshot")
        return snapshot.load(self.catalog, info["sha"], info.get("taken_at", "")) if info else None

    def drift(self) -> dict[str, list[int]]:
        """What changed in the frozen data since this run's snapshot."""
        snap = self.snapshot
        if snap is None:
            raise ValidationError("this run has no snapshot yet")
        return snapshot.drift(self.catalog, snap)

    def resume(self, wait: bool = True, *, detach: bool | None = None, timeout: float | None = None) -> PipelineRun:
        self._record = launch.resume_run(self.catalog, self.id, wait=wait, detach=detach, timeout=timeout)
        return self

    def cancel(self) -> PipelineRun:
        self._record = launch.cancel_run(self.catalog, self.id)
        return self

    def wait(self, timeout: float | None = None, poll: float = 0.25) -> PipelineRun:
        self._record = launch.wait_for(self.catalog, self.id, timeout=timeout, poll=poll)
        return self

    def logs(self, step: str | None = None) -> str:
        """One step's log, or every step's in order."""
        paths = log_paths(self.catalog, self.id)
        names = [step] if step else [s for s in lock.STEPS if s in paths]
        out = []
        for n in names:
            p = paths.get(n)
            if p is not None and p.exists():
                out.append(p.read_text(errors="replace"))
        return "".join(out)

    def __repr__(self) -> str:
        return f"PipelineRun(id={self.id!r}, status={self._record.status!r})"
