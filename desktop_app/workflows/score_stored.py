"""Evaluate a model from its stored predictions (imported, or kept from an earlier run) without running it.

The scoring is a normal evaluation's (evaluation.run.score_model, what the adapter's default evaluate calls):
the evaluation row, its figures per class, the cached inputs the review views read, the eval/ figures beside the
training curves and the data version it scored. No adapter is built and no weights are read, so a model without
weights (an offline model, created or pre-trained) is scored as well, and its status is left as it is.

It is recorded as an evaluate job that ran here (no worker): the execution, the evaluation and the data version
are written in one transaction, so a failure leaves none of them (and no failed job that resuming would send to
a worker to predict).
"""

from __future__ import annotations

import os
from typing import Any

from desktop_app.catalog import Catalog, ExecutionRecord, ExecutionStatus
from desktop_app.errors import ValidationError
from desktop_app.evaluation.run import MASK_OUTPUTS, default_name, describe_selection, require_ground_truth, score_model
from desktop_app.jobs.naming import TITLE_KEY, job_title

from .data_versions import record_evaluation_version

STORED = "stored predictions"      # what the job's name says it scored


def stored_prediction_items(catalog: Catalog, model_id: str, dataset_id: str, filters: dict | None) -> set[int]:
    """The filtered items holding predictions of the model that scoring reads (class labels, masks, or boxes)."""
    wanted = set(catalog.item_ids(dataset_id, **(filters or {})))
    output_type = catalog.get_model(model_id).output_type
    if output_type == "class":
        rows: Any = catalog.scoring.class_predictions(model_id)
    elif output_type in MASK_OUTPUTS:
        return wanted.intersection(catalog.scoring.prediction_items(model_id, "binary"))
    else:
        rows = catalog.scoring.prediction_geometry(model_id, "box")
    return {r.item_id for r in rows if r.item_id in wanted}


def check_stored(catalog: Catalog, model_id: str, dataset_id: str, filters: dict | None, *, iou_threshold: float,
                 conf_threshold: float) -> None:
    """Refuse (ValidationError) what scoring stored predictions cannot do: bad thresholds, no items, no ground
    truth to score against, or no stored predictions of the model there."""
    if not 0.0 < iou_threshold <= 1.0:      # also refuses NaN
        raise ValidationError(f"iou_threshold must be within (0, 1], got {iou_threshold}")
    if not 0.0 <= conf_threshold <= 1.0:
        raise ValidationError(f"conf_threshold must be within [0, 1], got {conf_threshold}")
    if catalog.count_items(dataset_id, **(filters or {})) == 0:
        raise ValidationError(f"nothing to evaluate: the filter {filters or {}} selects no items")
    require_ground_truth(catalog, model_id, dataset_id, filters)
    if not stored_prediction_items(catalog, model_id, dataset_id, filters):
        model = catalog.get_model(model_id)
        what = {"class": "class", "binary": "mask", "semantic": "mask"}.get(model.output_type, "box")
        selection = describe_selection(catalog.get_dataset(dataset_id).name, filters)
        raise ValidationError(f"model {model.name!r} has no stored {what} predictions on {selection}: import them "
                              f"(`desktop-app import-predictions FILE --model NAME --dataset NAME`, "
                              f"model.predictions.import_from) or evaluate with predict=True to run the model")


def score_stored(catalog: Catalog, model_id: str, dataset_id: str, *, filters: dict | None = None,
                 name: str | None = None, iou_threshold: float = 0.5, conf_threshold: float = 0.0,
                 execution_id: str | None = None) -> dict:
    """Score the model's stored predictions on the filtered items and keep the evaluation as evaluate_model keeps
    one; returns what it returns ({'evaluation_id', 'name', 'method', 'summary', 'data_version'})."""
    check_stored(catalog, model_id, dataset_id, filters, iou_threshold=iou_threshold, conf_threshold=conf_threshold)
    return _keep(catalog, model_id, dataset_id, filters, name, iou_threshold, conf_threshold, execution_id)


def _keep(catalog: Catalog, model_id: str, dataset_id: str, filters: dict | None, name: str | None,
          iou_threshold: float, conf_threshold: float, execution_id: str | None) -> dict:
    kept = score_model(catalog, model_id, dataset_id, filters=filters or None,
                       name=name or default_name(catalog.get_dataset(dataset_id).name, filters),
                       iou_threshold=iou_threshold, conf_threshold=conf_threshold, execution_id=execution_id)
    # The data it scored, as a version, as workflows.evaluate records it.
    return {**kept, "data_version": record_evaluation_version(catalog, dataset_id, kept["evaluation_id"])}


def evaluate_stored(catalog: Catalog, model_id: str, dataset_id: str, *, filters: dict | None = None,
                    name: str | None = None, iou_threshold: float = 0.5,
                    conf_threshold: float = 0.0) -> ExecutionRecord:
    """score_stored recorded as an evaluate job that ran in this process (input predict: False); the job, the
    evaluation and its data version are written together or not at all. Refusals come before anything."""
    check_stored(catalog, model_id, dataset_id, filters, iou_threshold=iou_threshold, conf_threshold=conf_threshold)
    model = catalog.get_model(model_id)
    job_input = {"dataset_id": dataset_id, "filters": filters or {}, "name": name, "iou_threshold": iou_threshold,
                 "conf_threshold": conf_threshold, "predict": False}
    job_input[TITLE_KEY] = job_title(catalog, "evaluate", model_id, job_input, STORED)
    with catalog.transaction():
        ex = catalog.create_execution("evaluate", model_id=model_id, project_id=model.project_id, input=job_input)
        catalog.set_execution_status(ex.id, ExecutionStatus.IN_PROGRESS, pid=os.getpid(),
                                     message=f"scoring {STORED}")
        out = _keep(catalog, model_id, dataset_id, filters, name, iou_threshold, conf_threshold, ex.id)
        return catalog.set_execution_status(ex.id, ExecutionStatus.SUCCESS, progress=100.0, output=out,
                                            message="done")
