"""Evaluate a catalog model (predict + score) through its adapter's evaluate_model, and keep what it returns."""

from __future__ import annotations

import math
from typing import Any, Callable

from desktop_app.catalog import Catalog
from desktop_app.errors import Cancelled, ValidationError
from desktop_app.evaluation.run import default_name, keep_evaluation, require_ground_truth
from desktop_app.ml.handle import DatasetView

from .adapters import build_adapter
from .data_versions import record_evaluation_version

CUSTOM_METHOD = "custom"   # an evaluation whose figures the adapter's own evaluate() computed


def evaluate_model(catalog: Catalog, model_id: str, dataset_id: str, *, filters: dict | None = None,
                   name: str | None = None, iou_threshold: float = 0.5, conf_threshold: float = 0.0,
                   execution_id: str | None = None, progress: Callable[[float, str], None] | None = None,
                   should_stop: Callable[[], None] | None = None, batch_size: int = 64) -> dict:
    """Predict over the filtered items (replacing this model's earlier predictions there), then score: the
    adapter's evaluate_model (default: predict, then its evaluate, the built-in scorer), so an adapter that
    overrides evaluate or evaluate_model scores its own way. Refused before any inference when the items hold
    no ground truth of the model's kind. should_stop raises Cancelled (a job's control.check)."""
    require_ground_truth(catalog, model_id, dataset_id, filters)
    dataset = DatasetView(catalog, dataset_id)
    name = name or default_name(dataset.name, filters)
    adapter = build_adapter(catalog, model_id, context={
        "progress": progress, "should_stop": _stop_flag(should_stop), "execution_id": execution_id})
    out = adapter.evaluate_model(adapter.model_entity, dataset, filters or None, batch_size=batch_size, name=name,
                                 iou_threshold=iou_threshold, conf_threshold=conf_threshold,
                                 execution_id=execution_id)
    kept = keep_result(catalog, model_id, dataset_id, out, name=name, filters=filters, iou_threshold=iou_threshold,
                       conf_threshold=conf_threshold, execution_id=execution_id, adapter=type(adapter).__name__)
    # The data it scored, as a version (the live dataset frozen now, right after scoring): searchable later.
    return {**kept, "data_version": record_evaluation_version(catalog, dataset_id, kept["evaluation_id"])}


def _stop_flag(check: Callable[[], None] | None) -> Callable[[], bool] | None:
    """A job's check() (raises Cancelled) as the adapter's should_stop() (a bool)."""
    if check is None:
        return None

    def stop() -> bool:
        try:
            check()
        except Cancelled:
            return True
        return False
    return stop


def keep_result(catalog: Catalog, model_id: str, dataset_id: str, out: Any, *, name: str, filters: dict | None,
                iou_threshold: float, conf_threshold: float, execution_id: str | None, adapter: str) -> dict:
    """What evaluate / evaluate_model returned, as the evaluation kept: the built-in scorer's answer is kept
    already; the adapter's own figures ({'summary': {...}, ...} or a flat {name: number}) are stored as a
    'custom' evaluation under `name`."""
    if isinstance(out, dict) and "evaluation_id" in out:
        return out
    if not isinstance(out, dict):
        raise ValidationError(f"{adapter}.evaluate returned {type(out).__name__}; it returns the dict "
                              f"super().evaluate(...) returns, or a dict of figures ({{'summary': {{...}}}})")
    results = dict(out) if isinstance(out.get("summary"), dict) else {"summary": dict(out)}
    results["summary"] = {str(k): _figure(adapter, k, v) for k, v in results["summary"].items()}
    results["method"] = CUSTOM_METHOD
    try:
        return keep_evaluation(catalog, model_id, dataset_id, name, method=CUSTOM_METHOD, results=results,
                               filters=filters, iou_threshold=iou_threshold, conf_threshold=conf_threshold,
                               execution_id=execution_id)
    except (TypeError, ValueError) as e:   # not JSON: an object of the user's in the figures
        raise ValidationError(f"{adapter}.evaluate returned figures that cannot be stored: {e}") from e


def _figure(adapter: str, key: Any, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, (str, list, dict)) or value is None:
            return value
        raise ValidationError(f"{adapter}.evaluate: figure {key!r} is a {type(value).__name__}; figures are "
                              f"numbers (or text, lists, dicts)")
    if not math.isfinite(float(value)):
        raise ValidationError(f"{adapter}.evaluate: figure {key!r} is {value}; figures are finite numbers")
    return value
