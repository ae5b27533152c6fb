"""What a job is called wherever it is listed: "Train resnet-exp (pipeline nightly, run 3)", "Evaluate m on d/test".

The name is written into the execution's input (`TITLE_KEY`) when the job is queued, so every screen (the jobs
panel, its log window, app.log) shows the same words; a job queued before names were kept gets one made from
its record.
"""

from __future__ import annotations

from typing import Any

from desktop_app.catalog import Catalog, ExecutionRecord
from desktop_app.errors import NotFoundError

TITLE_KEY = "title"
VERBS = {"train": "Train", "evaluate": "Evaluate", "predict": "Predict with", "deploy": "Deploy"}


def job_title(catalog: Catalog, kind: str, model_id: str | None, input: dict[str, Any],
              context: str | None = None) -> str:
    """The name of a job of `kind` on `model_id` with `input`: what it does, to which model, on which data;
    `context` (who queued it: "pipeline nightly, run 3") goes in brackets at the end."""
    if kind == "pipeline":
        title = pipeline_step_title(catalog, input)
    else:
        title = f"{VERBS.get(kind, kind.capitalize())} {_model_name(catalog, model_id) or 'a model'}"
        data = _data(catalog, kind, input)
        if data:
            title += f" on {data}"
    return f"{title} ({context})" if context else title


def pipeline_context(pipeline_name: str, run_number: Any) -> str:
    """How a pipeline's own jobs say where they come from: "pipeline nightly, run 3"."""
    return f"pipeline {pipeline_name}" + (f", run {run_number}" if run_number not in (None, "") else "")


def pipeline_step_title(catalog: Catalog, input: dict[str, Any]) -> str:
    """A pipeline step's own execution: "Pipeline nightly, run 3: train"."""
    number = input.get("run_number")
    if number is None and input.get("run_id"):
        try:
            number = catalog.get_pipeline_run(input["run_id"]).details.get("number")
        except NotFoundError:
            number = None
    where = pipeline_context(str(input.get("pipeline") or "?"), number)
    return f"{where[:1].upper()}{where[1:]}: {input.get('step') or 'step'}"


def display_title(catalog: Catalog, ex: ExecutionRecord) -> str:
    """The job's stored name, else one made from its record (jobs queued before names were kept)."""
    stored = (ex.input or {}).get(TITLE_KEY)
    if isinstance(stored, str) and stored:
        return stored
    return job_title(catalog, ex.kind, ex.model_id, ex.input or {})


def _model_name(catalog: Catalog, model_id: str | None) -> str:
    if not model_id:
        return ""
    try:
        return catalog.get_model(model_id).name
    except NotFoundError:
        return model_id


def _dataset_name(catalog: Catalog, dataset_id: str | None) -> str:
    if not dataset_id:
        return ""
    try:
        return catalog.get_dataset(dataset_id).name
    except NotFoundError:
        return dataset_id


def _data(catalog: Catalog, kind: str, input: dict[str, Any]) -> str:
    """The data an evaluation or prediction reads: "digits/test", "digits, 512 items", "12 items"."""
    if kind not in ("evaluate", "predict"):
        return ""
    filters = input.get("filters") or {}
    item_ids = input.get("item_ids") or filters.get("item_ids")
    dataset = _dataset_name(catalog, input.get("dataset_id"))
    if item_ids:
        return f"{dataset}, {len(item_ids):,} items" if dataset else f"{len(item_ids):,} items"
    if not dataset:
        return ""
    subset = filters.get("subset")
    if isinstance(subset, str) and subset:
        return f"{dataset}/{subset}"
    return f"{dataset} (filtered)" if filters else dataset
