"""What a job is called wherever it is listed: "Train resnet-exp (pipeline nightly, run 3)", "Evaluate m on d/test".

The name is written into the execution's input (`TITLE_KEY`) when the job is queued, so every screen (the jobs
panel, its log window, app.log) shows the same words; a job queued before names were kept gets one made from
its record.
"""

from __future__ import annotations

from typing import Any, Iterable

from desktop_app.catalog import Catalog, ExecutionRecord
from desktop_app.errors import NotFoundError

TITLE_KEY = "title"
VERBS = {"train": "Train", "evaluate": "Evaluate", "predict": "Predict with", "deploy": "Deploy", "embed": "Embed with"}


def job_title(catalog: Catalog, kind: str, model_id: str | None, input: dict[str, Any],
              context: str | None = None, *, names: Names | None = None) -> str:
    """The name of a job of `kind` on `model_id` with `input`: what it does, to which model, on which data;
    `context` (who queued it: "pipeline nightly, run 3") goes in brackets at the end. `names`: lookups shared
    by the jobs of one list (each model and dataset read once)."""
    names = names if names is not None else Names(catalog)
    if kind == "pipeline":
        title = pipeline_step_title(catalog, input, names=names)
    else:
        title = f"{VERBS.get(kind, kind.capitalize())} {names.model(model_id) or 'a model'}"
        data = _data(names, kind, input)
        if data:
            title += f" on {data}"
        cluster = input.get("cluster") if kind == "train" else None
        if isinstance(cluster, dict) and cluster.get("address"):
            where = "a local Ray" if cluster["address"] == "local" else f"Ray {cluster['address']}"
            title += f" on {where} ({cluster.get('workers', 1)} worker{'s' if cluster.get('workers', 1) != 1 else ''})"
    return f"{title} ({context})" if context else title


def pipeline_context(pipeline_name: str, run_number: Any) -> str:
    """How a pipeline's own jobs say where they come from: "pipeline nightly, run 3"."""
    return f"pipeline {pipeline_name}" + (f", run {run_number}" if run_number not in (None, "") else "")


def pipeline_step_title(catalog: Catalog, input: dict[str, Any], *, names: Names | None = None) -> str:
    """A pipeline step's own execution: "Pipeline nightly, run 3: train"."""
    names = names if names is not None else Names(catalog)
    number = input.get("run_number")
    if number is None and input.get("run_id"):
        number = names.run_number(input["run_id"])
    where = pipeline_context(str(input.get("pipeline") or "?"), number)
    return f"{where[:1].upper()}{where[1:]}: {input.get('step') or 'step'}"


def stored_title(ex: ExecutionRecord) -> str:
    """The name written into the job's input when it was queued ("" for a job queued before names were kept)."""
    stored = (ex.input or {}).get(TITLE_KEY)
    return stored if isinstance(stored, str) else ""


def display_title(catalog: Catalog, ex: ExecutionRecord, *, names: Names | None = None) -> str:
    """The job's stored name, else one made from its record (jobs queued before names were kept)."""
    return stored_title(ex) or job_title(catalog, ex.kind, ex.model_id, ex.input or {}, names=names)


def display_titles(catalog: Catalog, executions: Iterable[ExecutionRecord],
                   model_names: dict[str, str] | None = None) -> dict[str, str]:
    """Each job's name by execution id, for a list: a stored name costs no read; the others share one lookup,
    so each model, dataset and pipeline run is read once however many jobs name it (`model_names`: those the
    caller already has)."""
    names = Names(catalog, model_names)
    return {ex.id: display_title(catalog, ex, names=names) for ex in executions}


class Names:
    """Model and dataset names and pipeline run numbers, each read from the catalog once; a deleted model or
    dataset reads as its id."""

    def __init__(self, catalog: Catalog, model_names: dict[str, str] | None = None):
        self.catalog = catalog
        self._models: dict[str, str] = dict(model_names or {})
        self._datasets: dict[str, str] = {}
        self._runs: dict[str, Any] = {}

    def model(self, model_id: str | None) -> str:
        if not model_id:
            return ""
        if model_id not in self._models:
            try:
                self._models[model_id] = self.catalog.get_model(model_id).name
            except NotFoundError:
                self._models[model_id] = model_id
        return self._models[model_id]

    def dataset(self, dataset_id: str | None) -> str:
        if not dataset_id:
            return ""
        if dataset_id not in self._datasets:
            try:
                self._datasets[dataset_id] = self.catalog.get_dataset(dataset_id).name
            except NotFoundError:
                self._datasets[dataset_id] = dataset_id
        return self._datasets[dataset_id]

    def run_number(self, run_id: str) -> Any:
        if run_id not in self._runs:
            try:
                self._runs[run_id] = self.catalog.get_pipeline_run(run_id).details.get("number")
            except NotFoundError:
                self._runs[run_id] = None
        return self._runs[run_id]


def _data(names: Names, kind: str, input: dict[str, Any]) -> str:
    """The data an evaluation, prediction or embedding reads: "digits/test", "digits, 512 items", "12 items"."""
    if kind not in ("evaluate", "predict", "embed"):
        return ""
    filters = input.get("filters") or {}
    item_ids = input.get("item_ids") or filters.get("item_ids")
    dataset_ids = input.get("dataset_ids") or []
    dataset = names.dataset(input.get("dataset_id") or (dataset_ids[0] if len(dataset_ids) == 1 else None))
    if len(dataset_ids) > 1:
        return ", ".join(filter(None, (names.dataset(d) for d in dataset_ids)))
    if item_ids:
        return f"{dataset}, {len(item_ids):,} items" if dataset else f"{len(item_ids):,} items"
    if not dataset:
        return ""
    subset = filters.get("subset")
    if isinstance(subset, str) and subset:
        return f"{dataset}/{subset}"
    return f"{dataset} (filtered)" if filters else dataset
